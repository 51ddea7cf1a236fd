import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { LEASE_MS, pruneOutbox, RETENTION_MS } from "../src/events/outbox.repository";
import { publishPending } from "../src/events/publisher";
import { log } from "../src/lib/log";
import { freezeClock, meteredD1, restoreAfterEach, runSweep, storedEvents } from "./helpers";
import { drain, outboxWith, recordingQueues } from "./queues";

/*
 * A publishing round: one publisher at a time holds the outbox's lease, reads the events after its
 * position, sends them (and the email jobs they ask for), moves the position; what that costs D1;
 * failures, a publisher that stopped, two at once, retention. Who asks for publishing:
 * test/jobs.test.ts.
 */

restoreAfterEach();

describe("publishing", () => {
  it("costs about one row read per event, and writes nothing on the events (D1 meta over 1,000 events)", async () => {
    await outboxWith(1_000, "QUEUED");
    const { db, stats } = meteredD1();
    const result = await publishPending(createDb(db), recordingQueues().queues, log, { maxRounds: 100 });
    expect(result).toEqual({ published: 1_000, complete: true, failed: false, busy: false });
    // The goal is at most 3 rows read per event; marking each event published read 11.
    expect(stats.rowsRead / result.published).toBeLessThanOrEqual(1.1);
    // The lease's row, once per round: 11 rounds of 2 writes at most.
    expect(stats.rowsWritten).toBeLessThanOrEqual(22);
  });

  it("an empty outbox costs one round trip", async () => {
    await drain();
    const { db, stats } = meteredD1();
    expect(await publishPending(createDb(db), recordingQueues().queues, log, { maxRounds: 5 })).toMatchObject(
      {
        published: 0,
        complete: true,
      },
    );
    expect(stats.calls).toBe(1);
  });

  it("a queue that refuses leaves the events waiting, logged, and the cron publishes them", async () => {
    const admin = await outboxWith(2);
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const down = recordingQueues({ fail: true });
    expect(await publishPending(createDb(env.DB), down.queues, log)).toMatchObject({
      published: 0,
      failed: true,
    });
    expect((await storedEvents(admin.org)).some((event) => event.published)).toBe(false);
    expect(warnings.mock.calls.map(([line]) => JSON.parse(String(line)))).toContainEqual(
      expect.objectContaining({ message: "Publishing invitation events failed; they stay in the outbox" }),
    );

    vi.spyOn(console, "log").mockImplementation(() => {});
    const up = recordingQueues();
    await runSweep(Date.now(), { INVITATION_EVENTS: up.queues.events, INVITATION_EMAILS: up.queues.emails });
    expect(up.sent.filter((body) => body.organizationId === admin.org)).toHaveLength(2);
  });

  it("two publishers at once send every event exactly once, each in outbox order", async () => {
    const admin = await outboxWith(250);
    const db = createDb(env.DB);
    const a = recordingQueues();
    const b = recordingQueues();
    const [ra, rb] = await Promise.all([
      publishPending(db, a.queues, log, { maxRounds: 10 }),
      publishPending(db, b.queues, log, { maxRounds: 10 }),
    ]);
    expect(ra.published + rb.published).toBe(250);
    // The one that found the lease held says so and stops; the other finished.
    expect([ra.complete || rb.complete, ra.busy || rb.busy || (ra.complete && rb.complete)]).toEqual([
      true,
      true,
    ]);
    const ids = [...a.sent, ...b.sent].map((body) => body.id);
    expect(new Set(ids).size).toBe(250);
    const stored = await storedEvents(admin.org);
    expect(new Set(ids)).toEqual(new Set(stored.map((event) => event.id)));
    const seqOf = new Map(stored.map((event) => [event.id, event.seq]));
    for (const { sent } of [a, b]) {
      const seqs = sent.map((body) => seqOf.get(body.id) ?? 0);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  });

  it("a lease held by a publisher that stopped lapses, and the events are sent then", async () => {
    const admin = await outboxWith(1);
    const [event] = await storedEvents(admin.org);
    await env.DB.prepare(
      "UPDATE leases SET holder = 'stopped', held_until = ? WHERE name = 'invitation_events'",
    )
      .bind(Date.now() + LEASE_MS)
      .run();
    const db = createDb(env.DB);
    const meanwhile = recordingQueues();
    expect(await publishPending(db, meanwhile.queues, log)).toEqual({
      published: 0,
      complete: false,
      failed: false,
      busy: true,
    });
    expect(meanwhile.sent).toEqual([]);

    freezeClock(Date.now() + LEASE_MS);
    const later = recordingQueues();
    expect(await publishPending(db, later.queues, log)).toMatchObject({ published: 1, complete: true });
    expect(later.sent.map((body) => body.id)).toEqual([event?.id]);
  });

  it("a run is bounded: at most maxRounds rounds of 100, the rest left for the next run", async () => {
    const admin = await outboxWith(5 * 100 + 50);
    const { queues, batches } = recordingQueues();
    expect(await publishPending(createDb(env.DB), queues, log, { maxRounds: 5 })).toMatchObject({
      published: 500,
      complete: false,
    });
    expect(batches).toEqual(Array(5).fill(100));
    expect((await storedEvents(admin.org)).filter((event) => !event.published)).toHaveLength(50);
  });

  it("the cron deletes published events after the retention period, and never an unpublished one", async () => {
    const admin = await outboxWith(3);
    const [old, recent, unpublished] = await storedEvents(admin.org);
    const now = Date.now();
    // The first two published; the third not yet, though as old as the first.
    await env.DB.batch([
      env.DB.prepare("UPDATE leases SET position = ? WHERE name = 'invitation_events'").bind(recent?.seq),
      env.DB.prepare("UPDATE invitation_events SET occurred_at = ? WHERE seq IN (?, ?)").bind(
        now - RETENTION_MS - 1,
        old?.seq,
        unpublished?.seq,
      ),
      env.DB.prepare("UPDATE invitation_events SET occurred_at = ? WHERE seq = ?").bind(
        now - RETENTION_MS + 60_000,
        recent?.seq,
      ),
    ]);
    expect(await pruneOutbox(createDb(env.DB), now)).toBe(1);
    expect((await storedEvents(admin.org)).map((event) => event.seq)).toEqual([
      recent?.seq,
      unpublished?.seq,
    ]);
  });
});
