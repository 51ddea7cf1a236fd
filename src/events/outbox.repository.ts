import { and, asc, inArray, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type BatchLimits, deleteInBatches } from "../db/delete-in-batches";
import { type InvitationEventRow, invitationEvents } from "../db/schema";

/*
 * The outbox's queries. Rows are written by the triggers on `invitations` (migration 0005); these
 * move them through publication: claimed, then published (or released, or set aside), then
 * deleted after their retention.
 */

/** Events per `sendBatch`: the most one Queues batch may hold. */
export const PUBLISH_BATCH_SIZE = 100;

/** How long a publisher holds the rows it claimed before another may take them. */
export const CLAIM_MS = 60_000;

/** Published events are kept this long (for operators), then deleted by the cron. */
export const RETENTION_MS = 7 * 86_400_000;

/** How long a row that cannot be turned into an event (edited by hand, say) is set aside. */
export const SET_ASIDE_MS = 86_400_000;

/** The rows whose `seq` is in `seqs`, as one bound JSON parameter (D1 allows 100 per statement). */
function seqIn(seqs: readonly number[]): SQL {
  return inArray(invitationEvents.seq, sql`(SELECT value FROM json_each(${JSON.stringify(seqs)}))`);
}

/**
 * Claims the oldest PUBLISH_BATCH_SIZE unpublished rows no one holds, in one UPDATE that marks
 * them held for CLAIM_MS, so a concurrent publisher takes other rows. Returns them in `seq` order.
 */
export async function claimUnpublished(db: Db, now: number): Promise<InvitationEventRow[]> {
  const claimable = db
    .select({ seq: invitationEvents.seq })
    .from(invitationEvents)
    .where(
      and(
        isNull(invitationEvents.publishedAt),
        or(isNull(invitationEvents.claimedUntil), lte(invitationEvents.claimedUntil, now)),
      ),
    )
    .orderBy(asc(invitationEvents.seq))
    .limit(PUBLISH_BATCH_SIZE);
  const claimed = await db
    .update(invitationEvents)
    .set({ claimedUntil: now + CLAIM_MS })
    .where(inArray(invitationEvents.seq, claimable))
    .returning();
  return claimed.sort((a, b) => a.seq - b.seq);
}

/** Holds rows that cannot be read as events for SET_ASIDE_MS, so they do not block the rows behind them. */
export async function setAside(db: Db, seqs: readonly number[], now: number): Promise<void> {
  await db
    .update(invitationEvents)
    .set({ claimedUntil: now + SET_ASIDE_MS })
    .where(seqIn(seqs));
}

/** Gives claimed rows back at once (their send failed), for the next run to take. */
export async function releaseClaim(db: Db, seqs: readonly number[]): Promise<void> {
  await db.update(invitationEvents).set({ claimedUntil: null }).where(seqIn(seqs));
}

/** Records claimed rows as published at `now`. */
export async function markPublished(db: Db, seqs: readonly number[], now: number): Promise<void> {
  await db.update(invitationEvents).set({ publishedAt: now, claimedUntil: null }).where(seqIn(seqs));
}

/**
 * Deletes events published more than RETENTION_MS before `now`, at most `batchSize` per statement
 * and `maxBatches` statements per run. Unpublished events are never deleted.
 */
export function pruneOutbox(db: Db, now: number, limits: BatchLimits = {}): Promise<number> {
  return deleteInBatches(db, invitationEvents, lt(invitationEvents.publishedAt, now - RETENTION_MS), limits);
}
