import { and, eq, isNull, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type BatchLimits, deleteInBatches } from "../db/delete-in-batches";
import { idempotencyKeys } from "../db/schema";

/** How long a key holds its first answer. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/**
 * How long the first request holds its key. A retry within it is told to wait (409); after it,
 * a retry of the same request takes the key over, since the first request cannot still be
 * running (a Worker's request does not outlive it) but may have died before answering.
 */
export const IDEMPOTENCY_LOCK_MS = 60_000;

/** One request's key: its organization, the digest of its user and key, and what the request was. */
export type Slot = { db: Db; organizationId: string; keyHash: string; fingerprint: string };

/**
 * Takes the key for this request, in one atomic batch: a new key, an expired one, or one whose
 * earlier run of the same request died holding it. The probe in the same batch returns the row
 * as it stands, so a request that did not get the key learns why without another round trip.
 */
export async function claim({ db, organizationId, keyHash, fingerprint }: Slot, now: number) {
  const row = and(eq(idempotencyKeys.organizationId, organizationId), eq(idempotencyKeys.keyHash, keyHash));
  const [claimed, [current]] = await db.batch([
    db
      .insert(idempotencyKeys)
      .values({
        organizationId,
        keyHash,
        fingerprint,
        createdAt: now,
        expiresAt: now + IDEMPOTENCY_TTL_MS,
        lockedUntil: now + IDEMPOTENCY_LOCK_MS,
      })
      .onConflictDoUpdate({
        target: [idempotencyKeys.organizationId, idempotencyKeys.keyHash],
        set: {
          fingerprint: sql`excluded.fingerprint`,
          createdAt: sql`excluded.created_at`,
          expiresAt: sql`excluded.expires_at`,
          lockedUntil: sql`excluded.locked_until`,
          response: null,
        },
        setWhere: or(
          lte(idempotencyKeys.expiresAt, now),
          and(
            isNull(idempotencyKeys.response),
            lte(idempotencyKeys.lockedUntil, now),
            eq(idempotencyKeys.fingerprint, fingerprint),
          ),
        ),
      })
      .returning({ keyHash: idempotencyKeys.keyHash }),
    db.select().from(idempotencyKeys).where(row),
  ]);
  return { owned: claimed.length > 0, current };
}

/** This request's row, while it still holds the key unanswered. */
function held({ organizationId, keyHash, fingerprint }: Slot) {
  return and(
    eq(idempotencyKeys.organizationId, organizationId),
    eq(idempotencyKeys.keyHash, keyHash),
    eq(idempotencyKeys.fingerprint, fingerprint),
    isNull(idempotencyKeys.response),
  );
}

/** Stores the sealed answer on the key this request holds, and lifts its lock. */
export async function storeAnswer(slot: Slot, sealed: string): Promise<void> {
  await slot.db.update(idempotencyKeys).set({ response: sealed, lockedUntil: null }).where(held(slot));
}

/** Frees the key this request holds, so a retry runs again. */
export async function release(slot: Slot): Promise<void> {
  await slot.db.delete(idempotencyKeys).where(held(slot));
}

/** Deletes expired keys, at most `batchSize` per statement and `maxBatches` statements per run. */
export function pruneIdempotencyKeys(db: Db, now: number, limits: BatchLimits = { maxBatches: 3 }) {
  return deleteInBatches(db, idempotencyKeys, lte(idempotencyKeys.expiresAt, now), limits);
}
