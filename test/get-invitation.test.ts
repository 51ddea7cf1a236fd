import { describe, expect, it, vi } from "vitest";
import {
  acceptAs,
  api,
  caller,
  createInvitation,
  createWithLink,
  expectError,
  freezeClock,
  type Invitation,
  restoreAfterEach,
  storedRows,
} from "./helpers";

restoreAfterEach();

function get(token: string | undefined, id: string) {
  return api(`/api/v1/invitations/${id}`, { token });
}

async function expectNotFound(res: Response) {
  await expectError(res, 404, "INVITATION_NOT_FOUND", "Not Found", "Invitation not found");
}

describe("GET /api/v1/invitations/{id}", () => {
  it("returns 200 with the invitation as create returned it, to an ORG_ADMIN and to an OPERATOR", async () => {
    const admin = await caller("ORG_ADMIN");
    const operator = await caller("OPERATOR", admin.org);
    const invitation = await createInvitation(admin, "get-me@example.com", "OPERATOR");

    for (const who of [admin, operator]) {
      const res = await get(who.token, invitation.id);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
      expect(await res.json()).toEqual(invitation);
    }
  });

  it("never shows the link's token", async () => {
    const admin = await caller();
    const { token, inviteUrl: _url, ...invitation } = await createWithLink(admin, "secret@example.com");

    const res = await get(admin.token, invitation.id);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(token);
    expect(Object.keys(JSON.parse(text)).sort()).toEqual(Object.keys(invitation).sort());
  });

  it("accepts the id in upper case", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "upper@example.com");
    const res = await get(admin.token, invitation.id.toUpperCase());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(invitation);
  });

  it("reports a past-due PENDING invitation as EXPIRED before any sweep, without storing it", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createInvitation(admin, "late@example.com");
    vi.setSystemTime(Date.parse(invitation.expiresAt));
    const lateAdmin = await caller("ORG_ADMIN", admin.org);

    const res = await get(lateAdmin.token, invitation.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...invitation, status: "EXPIRED" });
    expect((await storedRows(admin.org))[0]?.status).toBe("PENDING");
  });

  it("shows revokedAt and revokedBy after a revoke", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createInvitation(admin, "revoked@example.com");
    const revokedAt = new Date(Date.parse(invitation.createdAt) + 5_000).toISOString();
    vi.setSystemTime(Date.parse(revokedAt));
    const revoke = await api(`/api/v1/invitations/${invitation.id}`, {
      method: "DELETE",
      token: admin.token,
    });
    expect(revoke.status).toBe(200);

    const res = await get(admin.token, invitation.id);
    expect(await res.json()).toEqual({
      ...invitation,
      status: "REVOKED",
      updatedAt: revokedAt,
      revokedAt,
      revokedBy: admin.sub,
    } satisfies Invitation);
  });

  it("shows acceptedAt and acceptedBy after an accept", async () => {
    freezeClock();
    const admin = await caller();
    const { token, inviteUrl: _url, ...invitation } = await createWithLink(admin, "joiner@example.com");
    const acceptedAt = new Date(Date.parse(invitation.createdAt) + 5_000).toISOString();
    vi.setSystemTime(Date.parse(acceptedAt));
    await acceptAs("joiner@example.com", token);

    const res = await get(admin.token, invitation.id);
    expect(await res.json()).toEqual({
      ...invitation,
      status: "ACCEPTED",
      updatedAt: acceptedAt,
      acceptedAt,
      acceptedBy: "user_invitee",
    } satisfies Invitation);
  });

  it("returns 403 FORBIDDEN to a VIEWER of the organization", async () => {
    const admin = await caller();
    const viewer = await caller("VIEWER", admin.org);
    const invitation = await createInvitation(admin, "hidden@example.com");
    await expectError(await get(viewer.token, invitation.id), 403, "FORBIDDEN", "Forbidden", "Forbidden");
  });

  it("returns 401 UNAUTHORIZED without a bearer token", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "anonymous@example.com");
    await expectError(
      await get(undefined, invitation.id),
      401,
      "UNAUTHORIZED",
      "Unauthorized",
      "Unauthorized",
    );
  });

  it("returns 404 INVITATION_NOT_FOUND for another organization's invitation, as for an unknown id", async () => {
    const acme = await caller();
    const globex = await caller();
    const theirs = await createInvitation(globex, "theirs@example.com");
    const operator = await caller("OPERATOR", acme.org);

    await expectNotFound(await get(acme.token, theirs.id));
    await expectNotFound(await get(operator.token, theirs.id));
    await expectNotFound(await get(acme.token, crypto.randomUUID()));
  });

  describe("returns 400 VALIDATION_ERROR naming the id when it is not a UUID", () => {
    for (const id of ["abc", "497f6eca62764993bfeb53cbbbba6f08", "497f6eca-6276-4993-bfeb-53cbbbba6f0"]) {
      it(`for "${id}"`, async () => {
        const admin = await caller();
        await expectError(
          await get(admin.token, id),
          400,
          "VALIDATION_ERROR",
          "Bad Request",
          "Validation error",
          {
            id: ["Invalid UUID"],
          },
        );
      });
    }
  });

  it("leaves /invitations/lookup to its own route: no token is a 400 on `token`, not on `id`", async () => {
    const admin = await caller();
    await expectError(
      await get(admin.token, "lookup"),
      400,
      "VALIDATION_ERROR",
      "Bad Request",
      "Validation error",
      { token: ["Invalid input: expected string, received undefined"] },
    );
  });
});
