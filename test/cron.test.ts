import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { CRON_SUBREQUESTS, runCron, SUBREQUEST_LIMIT } from "../src/jobs/cron";
import { withFields } from "../src/lib/log";
import { meteredD1, newOrgId, restoreAfterEach, seedPending, storedEvents } from "./helpers";
import { recordingQueue, recordingQueues } from "./queues";

restoreAfterEach();

const DAY = 86_400_000;

describe("the cron run's subrequest budget", () => {
  it(`stays within the free plan's ${SUBREQUEST_LIMIT} subrequests with every step at its bound`, async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const now = Date.now();
    const org = newOrgId();
    // More than each step may do in one run, with one row per statement: 16 invitations due for
    // the sweep's 15 UPDATEs; over 600 unpublished events, created with their email QUEUED, for
    // 6 publishing rounds of 100 that each send events and email jobs; 6 events past their
    // retention (published by the run's first round) for the outbox prune's 5 DELETEs; 4 expired keys for the key prune's 3; and the
    // sweep left unfinished, to hand off.
    await seedPending(org, 16, now - 2 * DAY, now - DAY);
    await seedPending(org, 900, now, now + DAY, "QUEUED");
    const old = (await storedEvents(org)).slice(0, 6).map((event) => event.seq);
    await env.DB.prepare(
      "UPDATE invitation_events SET occurred_at = ? WHERE seq IN (SELECT value FROM json_each(?))",
    )
      .bind(now - 30 * DAY, JSON.stringify(old))
      .run();
    await env.DB.prepare(
      `INSERT INTO idempotency_keys (organization_id, key_hash, fingerprint, created_at, expires_at)
       SELECT ?1, 'expired-' || value, 'f', ?2, ?2 FROM json_each('[1,2,3,4]')`,
    )
      .bind(org, now - 2 * DAY)
      .run();

    const { db, stats } = meteredD1();
    const { queues, batches, emailBatches } = recordingQueues();
    const jobs = recordingQueue({ target: env.INVITATION_JOBS });
    await runCron(createDb(db), { ...queues, jobs: jobs.queue }, now, withFields({ cron: "test" }), {
      batchSize: 1,
    });

    // 15 + 6 x (2 queries + 2 sends) + 5 + 3 + 1: every bound reached, nothing beyond.
    expect({
      queries: stats.calls,
      eventSends: batches.length,
      emailSends: emailBatches.length,
      handOffs: jobs.sent,
    }).toEqual({
      queries: 15 + 6 * 2 + 5 + 3,
      eventSends: 6,
      emailSends: 6,
      handOffs: [{ kind: "sweep", cutoff: now }],
    });
    expect(stats.calls + batches.length + emailBatches.length + jobs.sent.length).toBe(CRON_SUBREQUESTS);
    expect(CRON_SUBREQUESTS).toBeLessThanOrEqual(SUBREQUEST_LIMIT);
  });
});
