import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { invitations } from "../src/db/schema";
import { countD1, noCost } from "../src/lib/d1-cost";
import {
  caller,
  createWithLink,
  fetchWith,
  meteredD1,
  newOrgId,
  restoreAfterEach,
  runSweep,
  seedPending,
} from "./helpers";
import { jobsQueue, runJobsBatch } from "./queues";

restoreAfterEach();

const DAY = 86_400_000;

type Line = Record<string, unknown>;

/** Every line the Worker logs from here on, parsed (they are JSON, one object each). */
function captureLines(): Line[] {
  const lines: Line[] = [];
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((line: unknown) => {
      lines.push(JSON.parse(String(line)));
    });
  }
  return lines;
}

/** A request through the Worker's entry on a metered D1 binding; what D1's meta says it cost. */
async function metered(path: string, init: RequestInit) {
  const { db, stats } = meteredD1();
  const res = await fetchWith({ DB: db }, path, init);
  return { res, stats };
}

const bearer = (token: string, more: Record<string, string> = {}) => ({
  Authorization: `Bearer ${token}`,
  ...more,
});

describe("cost per request in the logs", () => {
  it("logs one line per request: route pattern, status, duration and D1's own figures", async () => {
    const admin = await caller();
    await seedPending(admin.org, 30, Date.now(), Date.now() + DAY);
    const lines = captureLines();
    const { res, stats } = await metered("/api/v1/invitations?limit=5&status=PENDING", {
      headers: bearer(admin.token),
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("X-Request-Id");
    const mine = lines.filter((line) => line.requestId === requestId);
    expect(mine).toEqual([
      {
        level: "info",
        message: "request",
        requestId,
        method: "GET",
        route: "/api/v1/invitations",
        status: 200,
        durationMs: expect.any(Number),
        d1Calls: stats.calls,
        d1Queries: stats.statements,
        d1RowsRead: stats.rowsRead,
        d1RowsWritten: 0,
      },
    ]);
    expect(stats.rowsRead).toBeGreaterThan(5);
  });

  it("gives a write its line and the publishing it starts after the response a line of its own", async () => {
    const admin = await caller();
    const lines = captureLines();
    // A jobs queue of its own: no "publish" job of an earlier write is still waiting on it.
    const jobs = jobsQueue();
    const { db, stats } = meteredD1();
    const write = (email: string) =>
      fetchWith({ DB: db, INVITATION_JOBS: jobs.queue }, "/api/v1/invitations", {
        method: "POST",
        headers: bearer(admin.token, { "Content-Type": "application/json" }),
        body: JSON.stringify({ email, role: "VIEWER" }),
      });
    const res = await write("cost-line@example.com");
    expect(res.status).toBe(201);
    const requestId = res.headers.get("X-Request-Id");
    const mine = lines.filter(
      (line) => line.requestId === requestId && line.message !== "Invitation created",
    );
    const request = mine.find((line) => line.message === "request");
    const after = mine.find((line) => line.message === "after response");
    expect(mine).toHaveLength(2);
    expect(request).toMatchObject({
      route: "/api/v1/invitations",
      method: "POST",
      status: 201,
      d1Calls: stats.calls,
      d1Queries: stats.statements,
      d1RowsRead: stats.rowsRead,
      d1RowsWritten: stats.rowsWritten,
    });
    expect(stats.rowsWritten).toBeGreaterThan(0);
    // Asking for publication is a queue send, no D1 query.
    expect(after).toMatchObject({ after: "publish", d1Queries: 0, d1RowsRead: 0, d1RowsWritten: 0 });
    expect(jobs.sent).toEqual([{ kind: "publish" }]);

    // A write while that job waits to start leaves no work behind it, so no line of that kind.
    const second = await write("cost-line-2@example.com");
    expect(second.status).toBe(201);
    const secondLines = lines.filter((line) => line.requestId === second.headers.get("X-Request-Id"));
    expect(secondLines.map((line) => line.message).sort()).toEqual(["Invitation created", "request"]);
    expect(jobs.sent).toHaveLength(1);
  });

  it("names the route's pattern, never the URL: no link token, query or email address in any line", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "secret-person@example.com");
    const lines = captureLines();
    const preview = await fetchWith({}, `/api/v1/invitations/lookup?token=${created.token}`);
    expect(preview.status).toBe(200);
    const get = await fetchWith({}, `/api/v1/invitations/${created.id}`, { headers: bearer(admin.token) });
    expect(get.status).toBe(200);
    const revoke = await fetchWith({}, `/api/v1/invitations/${created.id}`, {
      method: "DELETE",
      headers: bearer(admin.token),
    });
    expect(revoke.status).toBe(200);
    const requests = lines.filter((line) => line.message === "request");
    expect(requests.map((line) => [line.method, line.route, line.status])).toEqual([
      ["GET", "/api/v1/invitations/lookup", 200],
      ["GET", "/api/v1/invitations/:id", 200],
      ["DELETE", "/api/v1/invitations/:id", 200],
    ]);
    const text = JSON.stringify(lines);
    for (const secret of [created.token, "secret-person", "?"]) expect(text).not.toContain(secret);
  });

  it("logs refused requests too, with what they cost (nothing, before the token is checked)", async () => {
    const lines = captureLines();
    const res = await fetchWith({}, "/api/v1/invitations");
    expect(res.status).toBe(401);
    expect(lines.find((line) => line.requestId === res.headers.get("X-Request-Id"))).toMatchObject({
      message: "request",
      status: 401,
      d1Calls: 0,
      d1RowsRead: 0,
    });
  });

  it("gives each cron run and queue batch a line with its D1 figures", async () => {
    const org = newOrgId();
    const now = Date.now();
    await seedPending(org, 3, now - 2 * DAY, now - DAY);
    const lines = captureLines();
    const { db, stats } = meteredD1();
    await runSweep(now, { DB: db });
    const cron = lines.find((line) => line.message === "cron");
    expect(cron).toMatchObject({
      level: "info",
      cron: "*/15 * * * *",
      requestId: expect.any(String),
      d1Calls: stats.calls,
      d1Queries: stats.statements,
      d1RowsRead: stats.rowsRead,
      d1RowsWritten: stats.rowsWritten,
    });
    expect(stats.rowsWritten).toBeGreaterThanOrEqual(3);

    const jobs = meteredD1();
    await runJobsBatch([{ kind: "publish" }], { DB: jobs.db });
    expect(lines.find((line) => line.message === "queue")).toMatchObject({
      queue: "invitation-jobs",
      d1Calls: jobs.stats.calls,
      d1Queries: jobs.stats.statements,
      d1RowsRead: jobs.stats.rowsRead,
      d1RowsWritten: jobs.stats.rowsWritten,
    });
    expect(jobs.stats.calls).toBeGreaterThan(0);
  });
});

describe("the D1 binding that counts", () => {
  it("returns what the binding returns, by every way of reading, and adds up D1's meta", async () => {
    const org = newOrgId();
    await seedPending(org, 4, Date.now(), Date.now() + DAY);
    const sql = "SELECT id, email FROM invitations WHERE organization_id = ? ORDER BY id";
    const direct = env.DB.prepare(sql).bind(org);
    const cost = noCost();
    const counted = countD1(env.DB, cost).prepare(sql).bind(org);
    const expected = await direct.all();
    expect(await counted.all()).toMatchObject({ results: expected.results });
    expect(await counted.raw()).toEqual(await direct.raw());
    expect(await counted.raw({ columnNames: true })).toEqual(await direct.raw({ columnNames: true }));
    expect(await counted.first()).toEqual(await direct.first());
    expect(await counted.first("email")).toEqual(await direct.first("email"));
    expect(cost).toEqual({ calls: 5, queries: 5, rowsRead: 5 * expected.meta.rows_read, rowsWritten: 0 });

    // Drizzle's own reads (raw() outside a batch) and batches, through a session.
    const batchCost = noCost();
    const db = createDb(countD1(env.DB, batchCost).withSession("first-primary"));
    const rows = await db.select({ id: invitations.id }).from(invitations).limit(2);
    expect(rows).toHaveLength(2);
    await db.batch([db.select().from(invitations).limit(1), db.select().from(invitations).limit(3)]);
    expect(batchCost).toMatchObject({ calls: 2, queries: 3 });
    expect(batchCost.rowsRead).toBeGreaterThanOrEqual(2 + 1 + 3);
  });
});
