import type { Db } from "../db/client";
import { pruneOutbox } from "../events/outbox.repository";
import { type PublishQueues, publishPending, SUBREQUESTS_PER_ROUND } from "../events/publisher";
import { pruneIdempotencyKeys } from "../idempotency/idempotency.repository";
import { describeError, type Logger } from "../lib/log";
import { type Job, PUBLISH_JOB } from "../lib/queue-messages";
import { expireInvitations } from "./expire-invitations";

/*
 * The cron's run and its budget. A Worker invocation on the free plan may make 50 subrequests
 * (D1 queries and queue sends count alike), so every step is bounded and the bounds add up here:
 *
 *   sweep                 15 UPDATEs                                         15
 *   publishing             6 rounds x (start, events, email jobs, end)       24
 *   outbox prune           5 DELETEs                                          5
 *   idempotency prune      3 DELETEs                                          3
 *   hand-off               1 job for the jobs consumer                        1
 *                                                                           ----
 *                                                                            48  <= 50
 *
 * test/cron.test.ts runs the cron with every step at its bound and counts what it sends. What a
 * run leaves (a sweep or an outbox larger than its bounds) it hands to the jobs consumer
 * (jobs/background.ts), which goes on at once, invocation after invocation, instead of waiting for
 * the next run: a backlog of 100,000 is swept and published in minutes, not hours.
 */

/** Subrequests (D1 queries and queue sends) one invocation may make on the free plan. */
export const SUBREQUEST_LIMIT = 50;
/** UPDATE statements the expiry sweep may issue per run: one subrequest each. */
export const SWEEP_MAX_BATCHES = 15;
/** Publishing rounds per run. */
export const PUBLISH_MAX_ROUNDS = 6;
/** DELETE statements the outbox's retention may issue per run. */
export const OUTBOX_PRUNE_MAX_BATCHES = 5;
/** DELETE statements the expired idempotency keys' clean-up may issue per run. */
export const IDEMPOTENCY_PRUNE_MAX_BATCHES = 3;
/** The job that hands what is left to the jobs consumer. */
export const HAND_OFF_SENDS = 1;

/** The most subrequests one run makes: 15 + 6 x 4 + 5 + 3 + 1 = 48. */
export const CRON_SUBREQUESTS =
  SWEEP_MAX_BATCHES +
  PUBLISH_MAX_ROUNDS * SUBREQUESTS_PER_ROUND +
  OUTBOX_PRUNE_MAX_BATCHES +
  IDEMPOTENCY_PRUNE_MAX_BATCHES +
  HAND_OFF_SENDS;

export type CronQueues = PublishQueues & { jobs: Queue<Job> };

export type CronOptions = {
  /**
   * Rows per statement of the sweep and the two clean-ups (1000 by default). It changes no bound
   * above: tests make it small to reach every bound with a small backlog.
   */
  batchSize?: number;
};

/**
 * The scheduled run: sweep invitations that were due at `scheduledTime`, publish the outbox (the
 * sweep's events, and any a request's job missed), hand what is left of either to the jobs
 * consumer, delete published events past their retention and expired idempotency keys. Each step
 * runs even if an earlier one failed; the run fails (with the first error) if any did.
 */
export async function runCron(
  db: Db,
  queues: CronQueues,
  scheduledTime: number,
  log: Logger,
  { batchSize }: CronOptions = {},
): Promise<void> {
  const failures: unknown[] = [];
  let sweepLeft = false;
  try {
    const sweep = await expireInvitations(
      db,
      scheduledTime,
      { batchSize, maxBatches: SWEEP_MAX_BATCHES },
      log,
    );
    sweepLeft = !sweep.complete;
  } catch (error) {
    // Rows already swept stay swept; the next run starts from what is still due.
    log("error", "Expiry sweep failed", {
      scheduledTime: new Date(scheduledTime).toISOString(),
      error: describeError(error),
    });
    failures.push(error);
  }
  try {
    const { published, complete } = await publishPending(db, queues, log, { maxRounds: PUBLISH_MAX_ROUNDS });
    const next: Job | undefined = sweepLeft
      ? { kind: "sweep", cutoff: scheduledTime }
      : complete
        ? undefined
        : PUBLISH_JOB;
    if (next) await queues.jobs.send(next, { contentType: "json" });
    const pruned = await pruneOutbox(db, Date.now(), { batchSize, maxBatches: OUTBOX_PRUNE_MAX_BATCHES });
    log("info", "Outbox published", { published, complete, handedOff: next?.kind ?? null, pruned });
  } catch (error) {
    log("error", "Outbox publishing failed", { error: describeError(error) });
    failures.push(error);
  }
  try {
    const deleted = await pruneIdempotencyKeys(db, Date.now(), {
      batchSize,
      maxBatches: IDEMPOTENCY_PRUNE_MAX_BATCHES,
    });
    log("info", "Expired idempotency keys deleted", { deleted });
  } catch (error) {
    log("error", "Deleting expired idempotency keys failed", { error: describeError(error) });
    failures.push(error);
  }
  if (failures.length > 0) throw failures[0];
}
