import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  api,
  type Caller,
  caller,
  createInvitation,
  expectError,
  freezeClock,
  list,
  restoreAfterEach,
  runSweep,
  storedRows,
} from "./helpers";

const NOT_REVOCABLE = "Invalid UUID or invitation cannot be revoked in its current state";

restoreAfterEach();

function revoke(token: string, id: string) {
  return api(`/api/v1/invitations/${id}`, { method: "DELETE", token });
}

/** A refused revoke: the contract's 400, and the organization's rows exactly as before. */
async function expectRefused(who: Caller, id: string) {
  const before = await storedRows(who.org);
  await expectError(await revoke(who.token, id), 400, "BAD_REQUEST", "Bad Request", NOT_REVOCABLE);
  expect(await storedRows(who.org)).toEqual(before);
}

describe("DELETE /api/v1/invitations/{id}", () => {
  it("revokes a pending invitation: 200, REVOKED in the list and in storage, updatedAt moved", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createInvitation(admin, "revoke-me@example.com");
    vi.setSystemTime(Date.now() + 5_000);

    const res = await revoke(admin.token, invitation.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Invitation revoked" });

    const revokedAt = new Date(Date.parse(invitation.createdAt) + 5_000).toISOString();
    const revoked = {
      ...invitation,
      status: "REVOKED",
      updatedAt: revokedAt,
      revokedAt,
      revokedBy: admin.sub,
    };
    expect((await list(admin)).data).toEqual([revoked]);
    const [row] = await storedRows(admin.org);
    expect(row).toMatchObject({
      status: "REVOKED",
      updated_at: Date.parse(revokedAt),
      revoked_at: Date.parse(revokedAt),
      revoked_by: admin.sub,
    });
  });

  it("accepts the id in upper case", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "upper@example.com");
    const res = await revoke(admin.token, invitation.id.toUpperCase());
    expect(res.status).toBe(200);
    expect((await storedRows(admin.org))[0]?.status).toBe("REVOKED");
  });

  it("returns 400 BAD_REQUEST when the invitation is already revoked, and changes nothing", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "twice@example.com");
    expect((await revoke(admin.token, invitation.id)).status).toBe(200);
    await expectRefused(admin, invitation.id);
  });

  it("returns 400 BAD_REQUEST for an accepted invitation, and changes nothing", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "accepted@example.com");
    const acceptedAt = Date.now();
    await env.DB.prepare(
      "UPDATE invitations SET status = 'ACCEPTED', accepted_at = ?, updated_at = ? WHERE id = ?",
    )
      .bind(acceptedAt, acceptedAt, invitation.id)
      .run();
    await expectRefused(admin, invitation.id);
    expect((await list(admin)).data[0]).toMatchObject({
      status: "ACCEPTED",
      acceptedAt: new Date(acceptedAt).toISOString(),
    });
  });

  it("returns 400 BAD_REQUEST for an invitation past its expiry that the sweep has not reached", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createInvitation(admin, "late@example.com");
    vi.setSystemTime(Date.parse(invitation.expiresAt));
    const lateAdmin = await caller("ORG_ADMIN", admin.org);

    await expectRefused(lateAdmin, invitation.id);
    expect((await storedRows(admin.org))[0]?.status).toBe("PENDING");
  });

  it("returns 400 BAD_REQUEST for an invitation the sweep has stored as EXPIRED", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "swept@example.com");
    await runSweep(Date.parse(invitation.expiresAt));
    expect((await storedRows(admin.org))[0]?.status).toBe("EXPIRED");
    freezeClock(Date.parse(invitation.expiresAt) + 1);
    const lateAdmin = await caller("ORG_ADMIN", admin.org);
    await expectRefused(lateAdmin, invitation.id);
  });

  it("revokes an invitation one millisecond before it expires", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createInvitation(admin, "just-in-time@example.com");
    vi.setSystemTime(Date.parse(invitation.expiresAt) - 1);
    const lateAdmin = await caller("ORG_ADMIN", admin.org);
    expect((await revoke(lateAdmin.token, invitation.id)).status).toBe(200);
  });

  describe("returns 400 BAD_REQUEST for an id that is not a UUID", () => {
    for (const id of [
      "not-a-uuid",
      "123",
      "497f6eca-6276-4993-bfeb-53cbbbba6f0",
      "497f6eca62764993bfeb53cbbbba6f08",
      "%20",
    ]) {
      it(`for "${id}"`, async () => {
        const admin = await caller();
        await expectRefused(admin, id);
      });
    }
  });

  it("returns 404 INVITATION_NOT_FOUND for a UUID that does not exist", async () => {
    const admin = await caller();
    await expectError(
      await revoke(admin.token, crypto.randomUUID()),
      404,
      "INVITATION_NOT_FOUND",
      "Not Found",
      "Invitation not found",
    );
  });
});
