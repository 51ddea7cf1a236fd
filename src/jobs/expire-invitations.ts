import type { Db } from "../db/client";
import { expireDueBatch } from "../invitations/invitations.repository";
import { log as defaultLog, type Logger } from "../lib/log";

export type SweepOptions = {
  /** Rows one UPDATE may change. Bounded so that no statement grows with the backlog. */
  batchSize?: number;
  /**
   * UPDATE statements one run may issue (15 unless told; the cron's bound is in its budget,
   * jobs/cron.ts). A larger backlog is finished by the next run, since every run starts from what
   * is still due.
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
 * batches (`expireDueBatch`: one atomic UPDATE each). D1 runs statements one at a time, so the
 * sweep is idempotent, two overlapping runs never count a row twice, and a run that stops
 * half-way leaves every row either swept or still due for the next run.
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
    const batch = await expireDueBatch(db, now, batchSize);
    batches += 1;
    expired += batch.expired;
    rowsRead += batch.rowsRead;
    rowsWritten += batch.rowsWritten;
    if (batch.expired < batchSize) {
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
