import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type Caller,
  caller,
  callerAt,
  DAY,
  fetchWith,
  overrideD1,
  restoreAfterEach,
  seedPending,
} from "./helpers";

/**
 * MAX_PENDING_INVITATIONS: at most that many live PENDING invitations per organization, enforced
 * in the INSERT itself, so concurrent creates store exactly what fits. The tests set it low.
 */

restoreAfterEach();

const CAP = "20";

function send(who: Caller, path: string, json: unknown, cap = CAP) {
  return fetchWith({ MAX_PENDING_INVITATIONS: cap }, path, {
    method: "POST",
    headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "application/json" },
    body: JSON.stringify(json),
  });
}

/** Live PENDING invitations of the organization, counted from the rows. */
async function livePending(org: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM invitations WHERE organization_id = ? AND status = 'PENDING' AND expires_at > ?",
  )
    .bind(org, Date.now())
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The PENDING counter, as stored, and as count(*) recomputes it. */
async function pendingCounter(org: string) {
  const [stored, counted] = await env.DB.batch([
    env.DB.prepare(
      "SELECT coalesce(sum(total), 0) AS n FROM invitation_counts WHERE organization_id = ? AND status = 'PENDING'",
    ).bind(org),
    env.DB.prepare(
      "SELECT count(*) AS n FROM invitations WHERE organization_id = ? AND status = 'PENDING'",
    ).bind(org),
  ]);
  return { stored: stored?.results[0], counted: counted?.results[0] };
}

const limitBody = {
  code: "PENDING_INVITATION_LIMIT_REACHED",
  details: {},
  error: "Conflict",
  message: "The organization has reached its limit of pending invitations",
  statusCode: 409,
};

describe("MAX_PENDING_INVITATIONS", () => {
  it("50 concurrent creates with room for 5 store exactly 5; the others get 409, storing nothing", async () => {
    const admin = await caller();
    const now = Date.now();
    await seedPending(admin.org, 15, now, now + DAY);
    // Due but not yet swept: no longer pending, so they take no room.
    await seedPending(admin.org, 3, now - 2 * DAY, now - DAY);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        send(admin, "/api/v1/invitations", { email: `c${i}@example.com` }),
      ),
    );
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    expect(statuses.filter((status) => status === 409)).toHaveLength(45);
    for (const res of responses.filter((r) => r.status === 409)) expect(await res.json()).toEqual(limitBody);
    expect(await livePending(admin.org)).toBe(20);
    const counter = await pendingCounter(admin.org);
    expect(counter.stored).toEqual(counter.counted);
  });

  it("concurrent bulk creates with room for 5 store exactly 5 between them, in each request's order", async () => {
    const admin = await caller();
    await seedPending(admin.org, 15, Date.now(), Date.now() + DAY);
    const bulk = (prefix: string) =>
      send(admin, "/api/v1/invitations/bulk", {
        invitations: Array.from({ length: 10 }, (_, i) => ({ email: `${prefix}${i}@example.com` })),
      });
    const bodies = (await Promise.all(
      [bulk("x"), bulk("y"), bulk("z")].map(async (r) => (await r).json()),
    )) as {
      results: { outcome: string; error?: { code: string } }[];
    }[];
    const outcomes = bodies.map((body) => body.results.map((r) => r.outcome));
    expect(outcomes.flat().filter((o) => o === "created")).toHaveLength(5);
    expect(outcomes.flat().filter((o) => o === "limit_reached")).toHaveLength(25);
    // Within a request, the items that fit are its first ones.
    for (const list of outcomes) {
      const created = list.filter((o) => o === "created").length;
      expect(list).toEqual([...Array(created).fill("created"), ...Array(10 - created).fill("limit_reached")]);
    }
    expect(bodies.flatMap((b) => b.results.filter((r) => r.error).map((r) => r.error?.code))).toEqual(
      Array(25).fill("PENDING_INVITATION_LIMIT_REACHED"),
    );
    expect(await livePending(admin.org)).toBe(20);
  });

  it("per bulk item: an address already pending takes no room; a dry run says the same beforehand", async () => {
    const admin = await caller();
    await seedPending(admin.org, 17, Date.now(), Date.now() + DAY);
    const first = await send(admin, "/api/v1/invitations", { email: "taken@example.com" });
    expect(first.status).toBe(201);
    // 18 live: room for 2.
    const items = ["a", "taken", "b", "c", "d"].map((name) => ({ email: `${name}@example.com` }));
    const dry = (await (
      await send(admin, "/api/v1/invitations/bulk", { invitations: items, dryRun: true })
    ).json()) as {
      results: { outcome: string }[];
      summary: { limitReached: number };
    };
    const expected = ["would_create", "already_pending", "would_create", "limit_reached", "limit_reached"];
    expect(dry.results.map((r) => r.outcome)).toEqual(expected);
    const real = (await (await send(admin, "/api/v1/invitations/bulk", { invitations: items })).json()) as {
      results: { outcome: string }[];
      summary: { created: number; limitReached: number };
    };
    expect(real.results.map((r) => r.outcome)).toEqual(
      expected.map((o) => (o === "would_create" ? "created" : o)),
    );
    expect(real.summary).toMatchObject({ created: 2, limitReached: 2 });
    expect(await livePending(admin.org)).toBe(20);
  });

  it("at the cap, a create to an address already pending is the usual 409 CONFLICT; a decline frees room", async () => {
    const admin = await caller();
    await seedPending(admin.org, 19, Date.now(), Date.now() + DAY);
    const created = await send(admin, "/api/v1/invitations", { email: "last@example.com" });
    expect(created.status).toBe(201);
    const again = await send(admin, "/api/v1/invitations", { email: "last@example.com" });
    expect(((await again.json()) as { code: string }).code).toBe("CONFLICT");
    const over = await send(admin, "/api/v1/invitations", { email: "over@example.com" });
    expect(await over.json()).toEqual(limitBody);
    const { token } = (await created.json()) as { token: string };
    const declined = await send(admin, "/api/v1/invitations/decline", { token });
    expect(declined.status).toBe(200);
    expect((await send(admin, "/api/v1/invitations", { email: "over@example.com" })).status).toBe(201);
  });

  it("a resend brings an expired invitation back only within the cap", async () => {
    const admin = await caller();
    const res = await send(admin, "/api/v1/invitations", { email: "old@example.com", expiresInDays: 1 });
    const { id, expiresAt } = (await res.json()) as { id: string; expiresAt: string };
    const at = Date.parse(expiresAt) + 1000;
    // 20 live once it has expired: the cap is full.
    await seedPending(admin.org, 20, at - 1000, at + DAY);
    const late = await callerAt(at, admin);
    const refused = await send(late, `/api/v1/invitations/${id}/resend`, {});
    expect(await refused.json()).toEqual(limitBody);
    expect(await livePending(admin.org)).toBe(20);
    const seeded = await env.DB.prepare(
      "SELECT id FROM invitations WHERE organization_id = ? AND status = 'PENDING' AND id <> ? LIMIT 1",
    )
      .bind(admin.org, id)
      .first<{ id: string }>();
    const revoke = await fetchWith({}, `/api/v1/invitations/${seeded?.id}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${late.token}` },
    });
    expect(revoke.status).toBe(200);
    const resent = await send(late, `/api/v1/invitations/${id}/resend`, {});
    expect(resent.status).toBe(200);
    expect(await livePending(admin.org)).toBe(20);
  });

  it("costs a create about the same rows read with 900 pending invitations as with none", async () => {
    const rowsRead: number[] = [];
    for (const pending of [0, 900]) {
      const admin = await caller();
      if (pending) await seedPending(admin.org, pending, Date.now(), Date.now() + DAY);
      let read = 0;
      const db = overrideD1(env.DB, {
        withSession: (target, constraint) =>
          overrideD1(target.withSession(constraint), {
            batch: async (session, statements) => {
              const results = await session.batch(statements);
              for (const { meta } of results) read += meta.rows_read;
              return results;
            },
          }),
      });
      const res = await fetchWith({ DB: db, MAX_PENDING_INVITATIONS: "1000" }, "/api/v1/invitations", {
        method: "POST",
        headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ email: "cost@example.com", sendEmail: false }),
      });
      expect(res.status).toBe(201);
      rowsRead.push(read);
    }
    const [none = 0, many = 0] = rowsRead;
    expect(many - none, `rows read: ${rowsRead.join(" then ")}`).toBeLessThanOrEqual(10);
  });

  it("defaults to 1,000 and refuses a value that is not a positive integer", async () => {
    const admin = await caller();
    const res = await fetchWith({ MAX_PENDING_INVITATIONS: "" }, "/api/v1/invitations", {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: "default@example.com" }),
    });
    expect(res.status).toBe(201);
    expect((await send(admin, "/api/v1/invitations", { email: "zero@example.com" }, "0")).status).toBe(500);
  });
});
