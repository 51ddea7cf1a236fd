import type { Db } from "../db/client";
import type { InvitationEvent } from "../events/events";
import { pruneOutbox } from "../events/outbox.repository";
import { publishPending } from "../events/publisher";
import { pruneIdempotencyKeys } from "../idempotency/idempotency.repository";
import { describeError, type Logger } from "../lib/log";
import { expireInvitations } from "./expire-invitations";

/*
 * The cron's run and its budget. A Worker invocation on the free plan may make 50 subrequests
 * (D1 queries and queue sends count alike), so every step is bounded and the bounds add up here:
 *
 *   sweep                 15 UPDATEs                                 15
 *   publishing             8 rounds x (claim, send, mark)            24
 *   outbox prune           5 DELETEs                                  5
 *   idempotency prune      3 DELETEs                                  3
 *                                                                   ----
 *                                                                    47  <= 50
 *
 * test/cron.test.ts runs the cron with every step at its bound and counts what it sends. A round
 * that meets unreadable outbox rows adds one UPDATE to set them aside, which the count leaves out.
 * What a run leaves (a larger backlog), the next run takes up: every step starts from what is
 * still to do.
 */

/** Subrequests (D1 queries and queue sends) one invocation may make on the free plan. */
export const SUBREQUEST_LIMIT = 50;
/** UPDATE statements the expiry sweep may issue per run: one subrequest each. */
export const SWEEP_MAX_BATCHES = 15;
/** Publishing rounds per run. */
export const PUBLISH_MAX_ROUNDS = 8;
/** A publishing round's subrequests: the claim, the queue send and the mark. */
export const SUBREQUESTS_PER_PUBLISH_ROUND = 3;
/** DELETE statements the outbox's retention may issue per run. */
export const OUTBOX_PRUNE_MAX_BATCHES = 5;
/** DELETE statements the expired idempotency keys' clean-up may issue per run. */
export const IDEMPOTENCY_PRUNE_MAX_BATCHES = 3;

/** The most subrequests one run makes: 15 + 8 x 3 + 5 + 3 = 47. */
export const CRON_SUBREQUESTS =
  SWEEP_MAX_BATCHES +
  PUBLISH_MAX_ROUNDS * SUBREQUESTS_PER_PUBLISH_ROUND +
  OUTBOX_PRUNE_MAX_BATCHES +
  IDEMPOTENCY_PRUNE_MAX_BATCHES;

export type CronOptions = {
  /**
   * Rows per statement of the sweep and the two clean-ups (1000 by default). It changes no bound
   * above: tests make it small to reach every bound with a small backlog.
   */
  batchSize?: number;
};

/**
 * The scheduled run: sweep invitations that were due at `scheduledTime`, publish every event
 * still in the outbox (the sweep's, and any a request failed to publish), delete published events
 * past their retention and expired idempotency keys. Each step runs even if an earlier one
 * failed; the run fails (with the first error) if any did.
 */
export async function runCron(
  db: Db,
  queue: Queue<InvitationEvent>,
  scheduledTime: number,
  log: Logger,
  { batchSize }: CronOptions = {},
): Promise<void> {
  const failures: unknown[] = [];
  try {
    await expireInvitations(db, scheduledTime, { batchSize, maxBatches: SWEEP_MAX_BATCHES }, log);
  } catch (error) {
    // Rows already swept stay swept; the next run starts from what is still due.
    log("error", "Expiry sweep failed", {
      scheduledTime: new Date(scheduledTime).toISOString(),
      error: describeError(error),
    });
    failures.push(error);
  }
  try {
    const { published, complete } = await publishPending(db, queue, log, { maxRounds: PUBLISH_MAX_ROUNDS });
    const pruned = await pruneOutbox(db, Date.now(), { batchSize, maxBatches: OUTBOX_PRUNE_MAX_BATCHES });
    log("info", "Outbox published", { published, complete, pruned });
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
