import { inArray } from "drizzle-orm";
import type { Db } from "../db/client";
import { invitations } from "../db/schema";
import { isDue } from "../invitations/invitation-status";
import { log as defaultLog, type Logger } from "../lib/log";

export type SweepOptions = {
  /** Rows one UPDATE may change. Bounded so that no statement grows with the backlog. */
  batchSize?: number;
  /**
   * UPDATE statements one run may issue. 15, with the rest of the cron run (see src/index.ts),
   * stays under the free plan's 50 subrequests per invocation; a larger backlog is finished by
   * the next run, since every run starts from what is still due.
   */
  maxBatches?: number;
};

export type SweepResult = {
  /** Rows this run changed from PENDING to EXPIRED. */
  expired: number;
  /** UPDATE statements issued. */
  batches: number;
  /** False when the run stopped at `maxBatches` with rows possibly still due. */
  complete: boolean;
  /** D1's billing units for the run, from each statement's `meta`. */
  rowsRead: number;
  rowsWritten: number;
};

/**
 * Records as EXPIRED every PENDING invitation whose `expires_at` is at or before `now`, in bounded
 * batches. Each batch is one atomic UPDATE of the ids its subquery finds due (through the
 * (status, expires_at) index, so it reads about as many rows as it writes); D1 runs statements one
 * at a time, so the sweep is idempotent, two overlapping runs never count a row twice, and a run
 * that stops half-way leaves every row either swept or still due for the next run.
 */
export async function expireInvitations(
  db: Db,
  now: number,
  { batchSize = 1000, maxBatches = 15 }: SweepOptions = {},
  log: Logger = defaultLog,
): Promise<SweepResult> {
  const started = Date.now();
  let expired = 0;
  let batches = 0;
  let complete = false;
  let rowsRead = 0;
  let rowsWritten = 0;
  while (batches < maxBatches) {
    // The ids it changed, counted here: D1's `meta.changes` also counts the rows the outbox
    // trigger inserts (one event per expiry).
    const { results, meta } = await db
      .update(invitations)
      .set({ status: "EXPIRED", updatedAt: now })
      .where(
        inArray(
          invitations.id,
          db.select({ id: invitations.id }).from(invitations).where(isDue(now)).limit(batchSize),
        ),
      )
      .returning({ id: invitations.id })
      .run();
    batches += 1;
    expired += results.length;
    rowsRead += meta.rows_read;
    rowsWritten += meta.rows_written;
    if (results.length < batchSize) {
      complete = true;
      break;
    }
  }
  log("info", "Expired invitations swept", {
    cutoff: new Date(now).toISOString(),
    expired,
    batches,
    complete,
    rowsRead,
    rowsWritten,
    durationMs: Date.now() - started,
  });
  return { expired, batches, complete, rowsRead, rowsWritten };
}
