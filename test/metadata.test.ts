import { describe, expect, it } from "vitest";
import {
  api,
  caller,
  createWithLink,
  databaseSnapshot,
  expectError,
  inviteeToken,
  storedEvents,
} from "./helpers";

/**
 * Public and private metadata: bounded and validated on create, bulk items and PATCH; public shown
 * to the invitee (preview, inbox), private only to the organization; both in the events.
 */

const PUBLIC = { team: "research", seats: 3, tags: ["a", "b"], plan: { tier: "pro", trial: false } };
const PRIVATE = { crmId: "A-1042", note: null };

async function create(admin: { token: string }, email: string, extra: Record<string, unknown>) {
  return api("/api/v1/invitations", { method: "POST", token: admin.token, json: { email, ...extra } });
}

const patch = (admin: { token: string }, id: string, json: unknown) =>
  api(`/api/v1/invitations/${id}`, { method: "PATCH", token: admin.token, json });

describe("metadata on create", () => {
  it("stores both, returns both to the admin, the public one to the invitee, both in the event", async () => {
    const admin = await caller();
    const res = await create(admin, "meta@example.com", { publicMetadata: PUBLIC, privateMetadata: PRIVATE });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; token: string };
    expect(created).toMatchObject({ publicMetadata: PUBLIC, privateMetadata: PRIVATE });

    const get = await api(`/api/v1/invitations/${created.id}`, {
      token: (await caller("OPERATOR", admin.org)).token,
    });
    expect(await get.json()).toMatchObject({ publicMetadata: PUBLIC, privateMetadata: PRIVATE });

    const preview = (await (await api(`/api/v1/invitations/lookup?token=${created.token}`)).json()) as object;
    expect(preview).toMatchObject({ publicMetadata: PUBLIC });
    expect(preview).not.toHaveProperty("privateMetadata");

    const inbox = await api("/api/v1/me/invitations", { token: await inviteeToken("meta@example.com") });
    const items = ((await inbox.json()) as { data: object[] }).data;
    expect(items.find((item) => (item as { id: string }).id === created.id)).toEqual(
      expect.objectContaining({ publicMetadata: PUBLIC }),
    );
    expect(JSON.stringify(items)).not.toContain("A-1042");

    const accepted = await api("/api/v1/invitations/accept", {
      method: "POST",
      token: await inviteeToken("meta@example.com"),
      json: { token: created.token },
    });
    expect(accepted.status).toBe(200);
    const body = (await accepted.json()) as object;
    expect(body).toMatchObject({ status: "ACCEPTED", publicMetadata: PUBLIC });
    expect(body).not.toHaveProperty("privateMetadata");

    const events = await storedEvents(admin.org);
    expect(events.map((e) => [e.type, e.invitation.publicMetadata, e.invitation.privateMetadata])).toEqual([
      ["invitation.created", PUBLIC, PRIVATE],
      ["invitation.accepted", PUBLIC, PRIVATE],
    ]);
  });

  it("shows {} when none was given", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "none@example.com");
    expect(created).toMatchObject({ publicMetadata: {}, privateMetadata: {} });
  });

  const refusals: [string, unknown, string[]][] = [
    [
      "an array",
      ["a"],
      ["Expected an object whose values are strings, numbers, booleans, null, or arrays or objects of those"],
    ],
    [
      "a string",
      "team",
      ["Expected an object whose values are strings, numbers, booleans, null, or arrays or objects of those"],
    ],
    ["21 keys", Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])), ["At most 20 keys"]],
    ["over 4096 bytes as JSON", { big: "x".repeat(4090) }, ["At most 4096 bytes as JSON"]],
  ];
  for (const [name, value, messages] of refusals) {
    it(`refuses ${name} with 400 VALIDATION_ERROR, storing nothing`, async () => {
      const admin = await caller();
      const before = await databaseSnapshot();
      const res = await create(admin, "bad@example.com", { publicMetadata: value });
      const body = (await res.json()) as { code: string; details: Record<string, string[]> };
      expect(res.status).toBe(400);
      expect(body.code).toBe("VALIDATION_ERROR");
      expect(Object.values(body.details).flat()).toEqual(expect.arrayContaining(messages));
      expect(await databaseSnapshot()).toEqual(before);
    });
  }

  it("refuses a value nested deeper than one level with 400 VALIDATION_ERROR, storing nothing", async () => {
    const admin = await caller();
    const before = await databaseSnapshot();
    const res = await create(admin, "deep@example.com", { privateMetadata: { a: { b: { c: 1 } } } });
    const body = (await res.json()) as { code: string; details: Record<string, string[]> };
    expect(res.status).toBe(400);
    expect(body.code).toBe("VALIDATION_ERROR");
    expect(Object.keys(body.details).every((field) => field.startsWith("privateMetadata"))).toBe(true);
    expect(Object.keys(body.details)).not.toHaveLength(0);
    expect(await databaseSnapshot()).toEqual(before);
  });
});

describe("metadata on bulk items", () => {
  it("stores each item's metadata; an item with invalid metadata is invalid alone", async () => {
    const admin = await caller();
    const res = await api("/api/v1/invitations/bulk", {
      method: "POST",
      token: admin.token,
      json: {
        invitations: [
          { email: "b1@example.com", publicMetadata: { n: 1 }, privateMetadata: { p: "x" } },
          { email: "b2@example.com" },
          { email: "b3@example.com", publicMetadata: [1] },
        ],
      },
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as {
      results: {
        outcome: string;
        invitation?: { id: string; publicMetadata: object; privateMetadata: object };
      }[];
    };
    expect(results.map((r) => r.outcome)).toEqual(["created", "created", "invalid"]);
    expect(results[0]?.invitation).toMatchObject({ publicMetadata: { n: 1 }, privateMetadata: { p: "x" } });
    expect(results[1]?.invitation).toMatchObject({ publicMetadata: {}, privateMetadata: {} });
    const get = await api(`/api/v1/invitations/${results[0]?.invitation?.id}`, { token: admin.token });
    expect(await get.json()).toMatchObject({ publicMetadata: { n: 1 }, privateMetadata: { p: "x" } });
  });
});

describe("PATCH /api/v1/invitations/{id}", () => {
  it("replaces the fields given, clears with null, publishes invitation.updated only on a change", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "p@example.com");
    let res = await patch(admin, created.id, { publicMetadata: { a: 1 }, privateMetadata: { b: 2 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ publicMetadata: { a: 1 }, privateMetadata: { b: 2 } });
    res = await patch(admin, created.id, { privateMetadata: null });
    expect(await res.json()).toMatchObject({ publicMetadata: { a: 1 }, privateMetadata: {} });
    // The same values again: no change, no event.
    res = await patch(admin, created.id, { publicMetadata: { a: 1 } });
    expect(res.status).toBe(200);
    const events = await storedEvents(admin.org);
    expect(events.map((e) => [e.type, e.invitation.publicMetadata, e.invitation.privateMetadata])).toEqual([
      ["invitation.created", null, null],
      ["invitation.updated", { a: 1 }, { b: 2 }],
      ["invitation.updated", { a: 1 }, null],
    ]);
  });

  it("changes the private metadata of an answered invitation, never the public one", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "answered@example.com");
    await api("/api/v1/invitations/decline", { method: "POST", json: { token: created.token } });
    const res = await patch(admin, created.id, { privateMetadata: { reason: "declined" } });
    expect(await res.json()).toMatchObject({ status: "DECLINED", privateMetadata: { reason: "declined" } });
    const before = await databaseSnapshot();
    await expectError(
      await patch(admin, created.id, { publicMetadata: { a: 1 } }),
      409,
      "INVITATION_NOT_UPDATABLE",
      "Conflict",
      "Only a pending or expired invitation's public metadata and redirect URL can change",
    );
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("is 404 for another organization's id, 403 below ORG_ADMIN, 400 for an empty or unknown body", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "x@example.com");
    const before = await databaseSnapshot();
    const other = await caller();
    await expectError(
      await patch(other, created.id, { privateMetadata: {} }),
      404,
      "INVITATION_NOT_FOUND",
      "Not Found",
      "Invitation not found",
    );
    await expectError(
      await patch(await caller("OPERATOR", admin.org), created.id, { privateMetadata: {} }),
      403,
      "FORBIDDEN",
      "Forbidden",
      "Forbidden",
    );
    await expectError(
      await patch(admin, created.id, {}),
      400,
      "VALIDATION_ERROR",
      "Bad Request",
      "Validation error",
      {
        body: ["Send at least one field to change"],
      },
    );
    await expectError(
      await patch(admin, created.id, { role: "ORG_ADMIN" }),
      400,
      "VALIDATION_ERROR",
      "Bad Request",
      "Validation error",
      { body: ['Unrecognized key: "role"', "Send at least one field to change"] },
    );
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("racing a decline: either the change lands first or the decline wins and the change is refused", async () => {
    const admin = await caller();
    for (let round = 0; round < 6; round++) {
      const created = await createWithLink(admin, `race-${round}@example.com`);
      const [patched, declined] = await Promise.all([
        patch(admin, created.id, { publicMetadata: { round } }),
        api("/api/v1/invitations/decline", { method: "POST", json: { token: created.token } }),
      ]);
      expect(declined.status).toBe(200);
      expect([200, 409]).toContain(patched.status);
      const get = (await (await api(`/api/v1/invitations/${created.id}`, { token: admin.token })).json()) as {
        publicMetadata: object;
      };
      expect(get.publicMetadata).toEqual(patched.status === 200 ? { round } : {});
    }
  });
});
