import { describe, expect, it } from "vitest";
import { api, caller, createInvitation, expectError, list, storedRows } from "./helpers";

describe("tenant isolation", () => {
  it("never lists another organization's invitations, nor counts them", async () => {
    const acme = await caller("ORG_ADMIN");
    const globex = await caller("ORG_ADMIN");
    const mine = await createInvitation(acme, "mine@example.com");
    await createInvitation(globex, "theirs@example.com");
    await createInvitation(globex, "theirs2@example.com");

    expect(await list(acme)).toEqual({
      data: [mine],
      meta: { limit: 20, page: 1, total: 1, totalPages: 1, nextCursor: null },
    });
    const theirs = await list(globex);
    expect(theirs.meta.total).toBe(2);
    expect(theirs.data.every((invitation) => invitation.organizationId === globex.org)).toBe(true);
  });

  it("answers a revoke of another organization's invitation with 404, exactly as if it did not exist", async () => {
    const acme = await caller("ORG_ADMIN");
    const globex = await caller("ORG_ADMIN");
    const theirs = await createInvitation(globex, "victim@example.com");

    const res = await api(`/api/v1/invitations/${theirs.id}`, { method: "DELETE", token: acme.token });
    const missing = await api(`/api/v1/invitations/${crypto.randomUUID()}`, {
      method: "DELETE",
      token: acme.token,
    });
    // Byte for byte the answer for an id that does not exist.
    expect(await res.clone().text()).toBe(await missing.text());
    await expectError(res, 404, "INVITATION_NOT_FOUND", "Not Found", "Invitation not found");

    expect((await storedRows(globex.org)).map((row) => row.status)).toEqual(["PENDING"]);
    expect((await list(globex)).data).toEqual([theirs]);
  });

  it("keeps the one-pending-per-email rule per organization", async () => {
    const acme = await caller("ORG_ADMIN");
    const globex = await caller("ORG_ADMIN");
    await createInvitation(acme, "both@example.com");
    await createInvitation(globex, "both@example.com");
    expect(await storedRows(acme.org)).toHaveLength(1);
    expect(await storedRows(globex.org)).toHaveLength(1);
  });
});
