import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { expireInvitations } from "../src/jobs/expire-invitations";
import {
  api,
  caller,
  createInvitation,
  freezeClock,
  list,
  newOrgId,
  restoreAfterEach,
  runSweep,
  seedPending,
  storedRows,
} from "./helpers";

const DAY = 24 * 60 * 60 * 1000;

let log: ReturnType<typeof silenceLog>;
const silenceLog = () => vi.spyOn(console, "log").mockImplementation(() => {});

beforeEach(() => {
  // The sweep's one log line per run: captured to be checked, and kept out of the test output.
  log = silenceLog();
});

restoreAfterEach();

/**
 * Storage is shared by the tests of a file: sweeping what other tests left due gives a test that
 * counts exactly a clean slate.
 */
async function drainDue(db: ReturnType<typeof createDb>, at: number) {
  while (!(await expireInvitations(db, at)).complete);
}

/** Moves the clock the Worker sees to `at` and returns an admin token valid at that time. */
async function travelTo(at: number, org: string) {
  vi.setSystemTime(at);
  return caller("ORG_ADMIN", org);
}

describe("expiry", () => {
  it("reports a past-due PENDING invitation as EXPIRED before any sweep, without storing it", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createInvitation(admin, "soon@example.com");

    const justBefore = await travelTo(Date.parse(invitation.expiresAt) - 1, admin.org);
    expect((await list(justBefore)).data[0]?.status).toBe("PENDING");

    const atExpiry = await travelTo(Date.parse(invitation.expiresAt), admin.org);
    expect((await list(atExpiry)).data).toEqual([{ ...invitation, status: "EXPIRED" }]);
    expect((await storedRows(admin.org))[0]?.status).toBe("PENDING");
  });

  it("lets a new invitation to the same email replace a past-due one before the sweep", async () => {
    freezeClock();
    const admin = await caller();
    const old = await createInvitation(admin, "again@example.com");
    const later = await travelTo(Date.parse(old.expiresAt) + DAY, admin.org);

    const fresh = await createInvitation(later, "AGAIN@example.com");
    expect(fresh.status).toBe("PENDING");
    const body = await list(later);
    expect(body.data.map((invitation) => [invitation.id, invitation.status])).toEqual([
      [fresh.id, "PENDING"],
      [old.id, "EXPIRED"],
    ]);
    // The replaced one was recorded as EXPIRED in the same atomic write as the insert.
    expect((await storedRows(admin.org)).map((row) => [row.id, row.status, row.updated_at])).toEqual([
      [old.id, "EXPIRED", Date.parse(fresh.createdAt)],
      [fresh.id, "PENDING", Date.parse(fresh.createdAt)],
    ]);
  });

  it("the sweep stores EXPIRED for what is due, moves updatedAt, and leaves the rest alone", async () => {
    await drainDue(createDb(env.DB), Date.parse("9999-12-31T00:00:00.000Z"));
    freezeClock();
    const admin = await caller();
    const due = await createInvitation(admin, "due@example.com");
    const nextDay = await travelTo(Date.now() + DAY, admin.org);
    const notDue = await createInvitation(nextDay, "not-due@example.com");
    const revoked = await createInvitation(nextDay, "revoked@example.com");
    await api(`/api/v1/invitations/${revoked.id}`, { method: "DELETE", token: nextDay.token });
    const revokedRow = (await storedRows(admin.org)).find((row) => row.id === revoked.id);

    const sweepAt = Date.parse(due.expiresAt) + 60_000;
    log.mockClear();
    await runSweep(sweepAt);

    const rows = await storedRows(admin.org);
    expect(rows.find((row) => row.id === due.id)).toMatchObject({ status: "EXPIRED", updated_at: sweepAt });
    expect(rows.find((row) => row.id === notDue.id)).toMatchObject({
      status: "PENDING",
      updated_at: Date.parse(notDue.updatedAt),
    });
    expect(rows.find((row) => row.id === revoked.id)).toEqual(revokedRow);

    // One line for the sweep, then one each for the outbox and the idempotency keys, then the
    // run's cost line.
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({
      level: "info",
      message: "Expired invitations swept",
      cutoff: new Date(sweepAt).toISOString(),
      expired: 1,
      batches: 1,
      complete: true,
    });
    expect(lines[1]).toMatchObject({ level: "info", message: "Outbox published", complete: true });
    expect(lines[2]).toMatchObject({ level: "info", message: "Expired idempotency keys deleted" });
    expect(lines[3]).toMatchObject({ level: "info", message: "cron", d1RowsWritten: expect.any(Number) });
    expect(lines[3].d1RowsWritten).toBeGreaterThan(0);

    const reader = await travelTo(sweepAt, admin.org);
    const listed = (await list(reader)).data.find((invitation) => invitation.id === due.id);
    expect(listed).toEqual({ ...due, status: "EXPIRED", updatedAt: new Date(sweepAt).toISOString() });
  });

  it("is idempotent: a second sweep expires nothing, changes nothing, and reads next to nothing", async () => {
    const admin = await caller();
    const now = Date.now();
    const db = createDb(env.DB);
    await drainDue(db, now);
    await seedPending(admin.org, 5, now - 10 * DAY, now - DAY);
    await seedPending(newOrgId(), 1_000, now, now + DAY);

    expect(await expireInvitations(db, now)).toMatchObject({ expired: 5, batches: 1, complete: true });
    const after = await storedRows(admin.org);
    expect(after.every((row) => row.status === "EXPIRED" && row.updated_at === now)).toBe(true);

    // Nothing due: one statement, nothing written, and a few index rows read, not the 1,000
    // invitations still pending.
    const idle = await expireInvitations(db, now + 1000);
    expect(idle).toMatchObject({ expired: 0, batches: 1, complete: true, rowsWritten: 0 });
    expect(idle.rowsRead).toBeLessThan(10);
    expect(await storedRows(admin.org)).toEqual(after);
  });

  it("sweeps a backlog larger than one batch in bounded batches, and resumes where a capped run stopped", async () => {
    const admin = await caller();
    const now = Date.now();
    const db = createDb(env.DB);
    await drainDue(db, now);
    await seedPending(admin.org, 2_500, now - 10 * DAY, now - DAY);
    await seedPending(admin.org, 10, now, now + DAY);
    // Thousands more waiting in another organization: a sweep that scanned them would read more per row.
    await seedPending(newOrgId(), 5_000, now, now + DAY);

    // A run capped at two statements of 1,000 leaves the rest due, not half-written.
    const capped = await expireInvitations(db, now, { batchSize: 1_000, maxBatches: 2 });
    expect(capped).toMatchObject({ expired: 2_000, batches: 2, complete: false });
    const statuses = async () => {
      const counts: Record<string, number> = {};
      for (const row of await storedRows(admin.org)) counts[row.status] = (counts[row.status] ?? 0) + 1;
      return counts;
    };
    expect(await statuses()).toEqual({ EXPIRED: 2_000, PENDING: 510 });

    // The next run finishes the job: 500 more, then a short batch says the backlog is drained.
    const rest = await expireInvitations(db, now, { batchSize: 1_000, maxBatches: 2 });
    expect(rest).toMatchObject({ expired: 500, batches: 1, complete: true });
    expect(await statuses()).toEqual({ EXPIRED: 2_500, PENDING: 10 });

    // D1 bills rows read: the sweep's grow with what it expires, not with what is left waiting.
    expect(rest.rowsRead / rest.expired).toBeCloseTo(capped.rowsRead / capped.expired, 1);
    expect(rest.rowsWritten / rest.expired).toBeCloseTo(capped.rowsWritten / capped.expired, 1);
  });

  it("the cron handler drains a backlog larger than one batch in one run", async () => {
    const admin = await caller();
    const now = Date.now();
    await seedPending(admin.org, 2_345, now - 10 * DAY, now - DAY);
    await runSweep(now);
    const rows = await storedRows(admin.org);
    expect(rows).toHaveLength(2_345);
    expect(rows.every((row) => row.status === "EXPIRED")).toBe(true);
  });

  it("two overlapping sweeps expire every due row exactly once between them", async () => {
    const admin = await caller();
    const now = Date.now();
    const db = createDb(env.DB);
    await drainDue(db, now);
    await seedPending(admin.org, 1_500, now - 10 * DAY, now - DAY);
    const [a, b] = await Promise.all([
      expireInvitations(db, now, { batchSize: 100 }),
      expireInvitations(db, now, { batchSize: 100 }),
    ]);
    expect(a.complete && b.complete).toBe(true);
    expect(a.expired + b.expired).toBe(1_500);
    expect((await storedRows(admin.org)).every((row) => row.status === "EXPIRED")).toBe(true);
  });
});
