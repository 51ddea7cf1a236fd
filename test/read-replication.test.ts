import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, caller, createInvitation, expectError, fetchWith, list, overrideD1 } from "./helpers";

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

describe("D1 read replication (Sessions API)", () => {
  it("returns a bookmark on every successful operation", async () => {
    const admin = await caller();
    const created = await api("/api/v1/invitations", {
      method: "POST",
      token: admin.token,
      json: { email: "bookmark@example.com" },
    });
    expect(created.status).toBe(201);
    const { id } = await created.json<{ id: string }>();
    const listed = await api("/api/v1/invitations", { token: admin.token });
    const revoked = await api(`/api/v1/invitations/${id}`, { method: "DELETE", token: admin.token });
    // No query runs for a bulk create whose items are all invalid: the bookmark is still sent.
    const allInvalid = await api("/api/v1/invitations/bulk", {
      method: "POST",
      token: admin.token,
      json: { invitations: [{ email: "not an address" }, { role: "VIEWER" }] },
    });
    expect(allInvalid.status).toBe(200);
    expect((await allInvalid.json<{ summary: { invalid: number } }>()).summary.invalid).toBe(2);
    for (const res of [created, listed, revoked, allInvalid]) {
      expect(res.headers.get("x-d1-bookmark")).toMatch(BOOKMARK);
    }
  });

  it("sends no bookmark on an error answered before any query (a 401)", async () => {
    const res = await api("/api/v1/invitations", { token: "not-a-token" });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-d1-bookmark")).toBeNull();
  });

  it("anchors the request's session at a well-formed bookmark, or lets it use any replica without one", async () => {
    const admin = await caller();
    const anchors: (string | undefined)[] = [];
    const recording = overrideD1(env.DB, {
      withSession: (target, constraint) => {
        anchors.push(constraint);
        return target.withSession(constraint);
      },
    });
    const bookmark = "0000007b-0000b26e-00001538-0c3e87bb37b3db5cc52eedb93cd3b96b";
    const auth = { Authorization: `Bearer ${admin.token}` };
    expect((await fetchWith({ DB: recording }, "/api/v1/invitations", { headers: auth })).status).toBe(200);
    const anchored = await fetchWith({ DB: recording }, "/api/v1/invitations", {
      headers: { ...auth, "x-d1-bookmark": bookmark },
    });
    expect(anchored.status).toBe(200);
    // A malformed one is refused (400) and never handed to D1.
    const malformed = await fetchWith({ DB: recording }, "/api/v1/invitations", {
      headers: { ...auth, "x-d1-bookmark": "'; DROP TABLE invitations; --" },
    });
    expect(malformed.status).toBe(400);
    expect(anchors).toEqual(["first-unconstrained", bookmark, "first-unconstrained"]);
  });

  // Locally there is one always-current database, so this shows the round trip works, not that a
  // replica waits for the bookmark; the anchoring test above is what pins the behaviour.
  it("accepts a write's bookmark back on a read, which sees the write and answers from no earlier position", async () => {
    const admin = await caller();
    const created = await api("/api/v1/invitations", {
      method: "POST",
      token: admin.token,
      json: { email: "mine@example.com" },
    });
    const bookmark = created.headers.get("x-d1-bookmark") ?? "";
    const { token: _token, inviteUrl: _url, ...invitation } = await created.json<Record<string, unknown>>();

    const res = await api("/api/v1/invitations", {
      token: admin.token,
      headers: { "x-d1-bookmark": bookmark },
    });
    expect(res.status).toBe(200);
    expect((await res.json<{ data: unknown[] }>()).data).toEqual([invitation]);
    // Bookmarks sort in commit order: the read is at least as recent as the write.
    expect((res.headers.get("x-d1-bookmark") ?? "") >= bookmark).toBe(true);
  });

  it("refuses a malformed bookmark with 400 VALIDATION_ERROR on every operation, and writes nothing", async () => {
    const admin = await caller();
    const existing = await createInvitation(admin, "kept@example.com");
    const headers = { "x-d1-bookmark": "not-a-bookmark" };
    const requests = [
      api("/api/v1/invitations", { token: admin.token, headers }),
      api("/api/v1/invitations", {
        method: "POST",
        token: admin.token,
        headers,
        json: { email: "n@example.com" },
      }),
      api(`/api/v1/invitations/${existing.id}`, { method: "DELETE", token: admin.token, headers }),
    ];
    for (const res of await Promise.all(requests)) {
      await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", {
        "x-d1-bookmark": ["Invalid D1 bookmark"],
      });
    }
    expect((await list(admin)).data).toEqual([existing]);
  });
});
