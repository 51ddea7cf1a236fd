import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  api,
  type Caller,
  caller,
  createInvitation,
  expectError,
  fetchCountingRowsRead,
  freezeClock,
  type Invitation,
  type ListBody,
  list,
  restoreAfterEach,
  seedPending,
} from "./helpers";

restoreAfterEach();

/** Creates `count` invitations through the API, one millisecond apart, oldest first. */
async function createMany(admin: Caller, count: number): Promise<Invitation[]> {
  freezeClock();
  const start = Date.now();
  const created: Invitation[] = [];
  for (let i = 0; i < count; i++) {
    vi.setSystemTime(start + i);
    created.push(await createInvitation(admin, `person${i}@example.com`));
  }
  vi.useRealTimers();
  return created;
}

describe("GET /api/v1/invitations", () => {
  it("returns the organization's invitations newest first with page 1 and limit 20 by default", async () => {
    const admin = await caller("ORG_ADMIN");
    const created = await createMany(admin, 3);

    const res = await api("/api/v1/invitations", { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: created.toReversed(),
      meta: { limit: 20, page: 1, total: 3, totalPages: 1, nextCursor: null },
    });
  });

  it("lets an OPERATOR list, with every field of every invitation", async () => {
    const admin = await caller("ORG_ADMIN");
    const operator = await caller("OPERATOR", admin.org);
    const invitation = await createInvitation(admin, "op-visible@example.com", "ORG_ADMIN");
    expect(await list(operator)).toEqual({
      data: [invitation],
      meta: { limit: 20, page: 1, total: 1, totalPages: 1, nextCursor: null },
    });
  });

  it("accepts a trailing slash on the path", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "slash@example.com");
    const res = await api("/api/v1/invitations/", { token: admin.token });
    expect(res.status).toBe(200);
    expect((await res.json<{ data: Invitation[] }>()).data).toEqual([invitation]);
  });

  it("returns an empty page with zero totals for an organization with no invitations", async () => {
    const admin = await caller();
    expect(await list(admin)).toEqual({
      data: [],
      meta: { limit: 20, page: 1, total: 0, totalPages: 0, nextCursor: null },
    });
    expect(await list(admin, "?page=3&limit=5")).toEqual({
      data: [],
      meta: { limit: 5, page: 3, total: 0, totalPages: 0, nextCursor: null },
    });
  });

  it("pages with limit 1 through every invitation exactly once, in order", async () => {
    const admin = await caller();
    const created = await createMany(admin, 4);
    const seen: Invitation[] = [];
    for (let page = 1; page <= 4; page++) {
      const body = await list(admin, `?page=${page}&limit=1`);
      expect(body.meta).toEqual({
        limit: 1,
        page,
        total: 4,
        totalPages: 4,
        // Every page but the last tells where the next one starts.
        nextCursor: page < 4 ? expect.any(String) : null,
      });
      expect(body.data).toHaveLength(1);
      seen.push(...body.data);
    }
    expect(seen).toEqual(created.toReversed());
  });

  it("returns a short last page and an empty page past the end with the true meta", async () => {
    const admin = await caller();
    const created = await createMany(admin, 5);
    const newestFirst = created.toReversed();

    expect(await list(admin, "?page=2&limit=3")).toEqual({
      data: newestFirst.slice(3),
      meta: { limit: 3, page: 2, total: 5, totalPages: 2, nextCursor: null },
    });
    expect(await list(admin, "?page=3&limit=3")).toEqual({
      data: [],
      meta: { limit: 3, page: 3, total: 5, totalPages: 2, nextCursor: null },
    });
    expect(await list(admin, `?page=${Number.MAX_SAFE_INTEGER}&limit=100`)).toEqual({
      data: [],
      meta: { limit: 100, page: Number.MAX_SAFE_INTEGER, total: 5, totalPages: 1, nextCursor: null },
    });
  });

  it("orders invitations created in the same millisecond by id descending, stable across pages", async () => {
    const admin = await caller();
    const createdAt = Date.now();
    await seedPending(admin.org, 30, createdAt, createdAt + 60_000);

    const full = await list(admin, "?limit=100");
    expect(full.meta).toEqual({ limit: 100, page: 1, total: 30, totalPages: 1, nextCursor: null });
    const ids = full.data.map((invitation) => invitation.id);
    expect(ids).toEqual(ids.toSorted().toReversed());

    const paged: string[] = [];
    for (let page = 1; page <= 4; page++) {
      paged.push(...(await list(admin, `?page=${page}&limit=8`)).data.map((invitation) => invitation.id));
    }
    expect(paged).toEqual(ids);
  });

  it("serves limit 100 and counts totals beyond one page", async () => {
    const admin = await caller();
    const now = Date.now();
    await seedPending(admin.org, 250, now, now + 60_000);
    const first = await list(admin, "?limit=100");
    expect(first.data).toHaveLength(100);
    expect(first.meta).toEqual({
      limit: 100,
      page: 1,
      total: 250,
      totalPages: 3,
      nextCursor: expect.any(String),
    });
    const last = await list(admin, "?page=3&limit=100");
    expect(last.data).toHaveLength(50);
    expect(last.meta).toEqual({ limit: 100, page: 3, total: 250, totalPages: 3, nextCursor: null });
  });

  it("keeps total exact however rows are written, since the database maintains it", async () => {
    const admin = await caller();
    const now = Date.now();
    await seedPending(admin.org, 40, now, now + 60_000);
    await createInvitation(admin, "api@example.com");
    expect((await list(admin)).meta.total).toBe(41);

    await env.DB.prepare(
      "DELETE FROM invitations WHERE id IN (SELECT id FROM invitations WHERE organization_id = ? LIMIT 5)",
    )
      .bind(admin.org)
      .run();
    expect((await list(admin, "?limit=100")).meta).toEqual({
      limit: 100,
      page: 1,
      total: 36,
      totalPages: 1,
      nextCursor: null,
    });
    expect((await list(admin, "?limit=100")).data).toHaveLength(36);
  });

  it("reads about a page of rows from D1 for page 1, however large the organization", async () => {
    const admin = await caller();
    const now = Date.now();
    await seedPending(admin.org, 3_000, now, now + 60_000);
    const { res, rowsRead } = await fetchCountingRowsRead(admin, "/api/v1/invitations?limit=20");
    expect(res.status).toBe(200);
    expect((await res.json<ListBody>()).meta).toEqual({
      limit: 20,
      page: 1,
      total: 3_000,
      totalPages: 150,
      nextCursor: expect.any(String),
    });
    // 20 rows for the page and one for the total; a count(*) would read all 3,000.
    expect(rowsRead).toBeGreaterThan(0);
    expect(rowsRead).toBeLessThanOrEqual(20 + 10);
  });

  it("keeps both totals exact when an invitation moves to another organization", async () => {
    const from = await caller();
    const to = await caller();
    const moved = await createInvitation(from, "moved@example.com");
    await createInvitation(from, "stays@example.com");
    await env.DB.prepare("UPDATE invitations SET organization_id = ? WHERE id = ?")
      .bind(to.org, moved.id)
      .run();
    expect((await list(from)).meta.total).toBe(1);
    expect((await list(to)).meta.total).toBe(1);
  });

  it("counts invitations in every state in total", async () => {
    const admin = await caller();
    const revoked = await createInvitation(admin, "revoked@example.com");
    await api(`/api/v1/invitations/${revoked.id}`, { method: "DELETE", token: admin.token });
    await createInvitation(admin, "pending@example.com");
    const body = await list(admin);
    expect(body.meta.total).toBe(2);
    expect(body.data.map((invitation) => [invitation.email, invitation.status])).toEqual([
      ["pending@example.com", "PENDING"],
      ["revoked@example.com", "REVOKED"],
    ]);
  });

  describe("returns 400 VALIDATION_ERROR for a page or limit out of range or not an integer", () => {
    const integer = ["Expected an integer"];
    const cases: [string, Record<string, string[]>][] = [
      ["page=0", { page: ["Too small: expected number to be >=1"] }],
      ["page=-1", { page: integer }],
      ["page=1.5", { page: integer }],
      ["page=abc", { page: integer }],
      ["page=", { page: integer }],
      ["page=1e1", { page: integer }],
      ["page=0x10", { page: integer }],
      ["page=%202", { page: integer }],
      ["page=99999999999999999999", { page: ["Too big: expected int to be <=9007199254740991"] }],
      ["limit=0", { limit: ["Too small: expected number to be >=1"] }],
      ["limit=101", { limit: ["Too big: expected number to be <=100"] }],
      ["limit=2.5", { limit: integer }],
      ["limit=ten", { limit: integer }],
      ["page=1&page=2", { page: ["Invalid input: expected string, received array"] }],
      [
        "page=0&limit=1000",
        { page: ["Too small: expected number to be >=1"], limit: ["Too big: expected number to be <=100"] },
      ],
    ];
    for (const [query, details] of cases) {
      it(`for ?${query}`, async () => {
        const admin = await caller();
        const res = await api(`/api/v1/invitations?${query}`, { token: admin.token });
        await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", details);
      });
    }
  });
});
