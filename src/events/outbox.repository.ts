import { and, asc, eq, exists, gt, lt, lte, notExists, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type BatchLimits, deleteInBatches } from "../db/delete-in-batches";
import { type InvitationEventRow, invitationEvents, leases } from "../db/schema";

/*
 * The outbox's queries. Rows are written by the triggers on `invitations` (migrations 0005 and
 * 0007) and never changed: they are published in `seq` order by the one publisher holding the
 * outbox's lease, whose `position` says how far publishing has got (every event up to that `seq`
 * is published), then deleted after their retention.
 *
 * Why a position and not a mark on each event: D1 runs one statement at a time, so an event with a
 * lower `seq` can never commit after one with a higher `seq`, and everything up to the last event
 * sent is exactly what was sent. A round then costs D1 the lease row and the events it reads (by
 * `seq` range, through the primary key): about one row read per event, and no write on the events.
 * Marking each event published cost 3 rows read per event (its row and its index entries).
 */

/** Events per `sendBatch`: the most one Queues batch may hold. */
export const PUBLISH_BATCH_SIZE = 100;

/** How long a publisher holds the lease for one round before another may take it. */
export const LEASE_MS = 60_000;

/** Published events are kept this long after their change (for operators), then deleted by the cron. */
export const RETENTION_MS = 7 * 86_400_000;

/** The outbox's lease (a row of `leases`, created by migration 0007). */
export const OUTBOX_LEASE = "invitation_events";

const outboxLease = eq(leases.name, OUTBOX_LEASE);
const ourLease = (holder: string) => and(outboxLease, eq(leases.holder, holder));
/** The highest `seq` published. */
const position = sql`(SELECT ${leases.position} FROM ${leases} WHERE ${outboxLease})`;

/**
 * Starts a round as `holder`, in one round trip: takes the lease if it is free (or already ours),
 * and reads the next PUBLISH_BATCH_SIZE events after the position, in `seq` order. Returns
 * undefined when another publisher holds the lease (nothing is read then), or the events. With
 * none, the lease is given back in the same round trip.
 */
export async function startRound(
  db: Db,
  holder: string,
  now: number,
): Promise<InvitationEventRow[] | undefined> {
  const held = exists(db.select({ one: sql`1` }).from(leases).where(ourLease(holder)));
  const after = db
    .select({ one: sql`1` })
    .from(invitationEvents)
    .where(gt(invitationEvents.seq, leases.position));
  const [taken, rows] = await db.batch([
    db
      .update(leases)
      .set({ holder, heldUntil: now + LEASE_MS })
      .where(and(outboxLease, or(lte(leases.heldUntil, now), eq(leases.holder, holder))))
      .returning({ holder: leases.holder }),
    db
      .select()
      .from(invitationEvents)
      .where(and(held, gt(invitationEvents.seq, position)))
      .orderBy(asc(invitationEvents.seq))
      .limit(PUBLISH_BATCH_SIZE),
    db
      .update(leases)
      .set({ heldUntil: 0 })
      .where(and(ourLease(holder), notExists(after))),
  ]);
  return taken.length === 0 ? undefined : rows;
}

/** Ends a round as `holder`: every event up to `through` is published; the lease is given back. */
export async function endRound(db: Db, holder: string, through: number): Promise<void> {
  await db
    .update(leases)
    .set({ position: sql`max(${leases.position}, ${through})`, heldUntil: 0 })
    .where(ourLease(holder));
}

/** Gives the lease back without moving the position (the round's send failed): the events wait for the next. */
export async function releaseLease(db: Db, holder: string): Promise<void> {
  await db.update(leases).set({ heldUntil: 0 }).where(ourLease(holder));
}

/** Published events older than RETENTION_MS at `now` (by their change's time). */
function expired(now: number): SQL {
  return and(lt(invitationEvents.occurredAt, now - RETENTION_MS), lte(invitationEvents.seq, position)) as SQL;
}

/**
 * Deletes published events whose change is more than RETENTION_MS before `now`, at most
 * `batchSize` per statement and `maxBatches` statements per run. Unpublished events are never
 * deleted.
 */
export function pruneOutbox(db: Db, now: number, limits: BatchLimits = {}): Promise<number> {
  return deleteInBatches(db, invitationEvents, expired(now), limits);
}

/** How far publishing has got: the highest `seq` published. */
export async function publishedThrough(db: Db): Promise<number> {
  const [row] = await db.select({ position: leases.position }).from(leases).where(outboxLease);
  return row?.position ?? 0;
}
