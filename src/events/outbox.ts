import { and, asc, inArray, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { createDb, type Db } from "../db/client";
import { invitationEvents } from "../db/schema";
import type { AppEnv } from "../lib/create-router";
import { describeError, type Logger, requestLogger } from "../lib/log";
import { type InvitationEvent, toEvent } from "./events";

/** Events per `sendBatch`: the most one Queues batch may hold. */
export const PUBLISH_BATCH_SIZE = 100;

/** How long a publisher holds the rows it claimed before another may take them. */
export const CLAIM_MS = 60_000;

/** Published events are kept this long (for operators), then deleted by the cron. */
export const RETENTION_MS = 7 * 86_400_000;

/** The rows whose `seq` is in `seqs`, as one bound JSON parameter (D1 allows 100 per statement). */
function seqIn(seqs: readonly number[]): SQL {
  return inArray(invitationEvents.seq, sql`(SELECT value FROM json_each(${JSON.stringify(seqs)}))`);
}

export type PublishResult = {
  /** Events the queue accepted in this run. */
  published: number;
  /** False when the run stopped at `maxRounds` or a send failed, with events possibly left. */
  complete: boolean;
};

/**
 * Publishes unpublished events to the queue in `seq` order, up to PUBLISH_BATCH_SIZE per round:
 * claim a batch (one UPDATE that marks the rows as held for CLAIM_MS, so a concurrent publisher
 * takes other rows), send it with one `sendBatch`, then mark it published. A failed send releases
 * the claim at once and ends the run; a publisher that dies between send and mark leaves its
 * claim to expire, and the rows are sent again. So delivery is at least once, never lost.
 */
export async function publishPending(
  db: Db,
  queue: Queue<InvitationEvent>,
  log: Logger,
  { maxRounds = 1 }: { maxRounds?: number } = {},
): Promise<PublishResult> {
  let published = 0;
  for (let round = 0; round < maxRounds; round++) {
    const now = Date.now();
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
    if (claimed.length === 0) return { published, complete: true };
    claimed.sort((a, b) => a.seq - b.seq);
    const seqs = claimed.map((row) => row.seq);
    try {
      await queue.sendBatch(claimed.map((row) => ({ body: toEvent(row), contentType: "json" })));
    } catch (error) {
      await db.update(invitationEvents).set({ claimedUntil: null }).where(seqIn(seqs));
      log("warn", "Publishing invitation events failed; they stay in the outbox", {
        events: seqs.length,
        error: describeError(error),
      });
      return { published, complete: false };
    }
    await db.update(invitationEvents).set({ publishedAt: Date.now(), claimedUntil: null }).where(seqIn(seqs));
    published += claimed.length;
    if (claimed.length < PUBLISH_BATCH_SIZE) return { published, complete: true };
  }
  return { published, complete: false };
}

/**
 * Deletes events published more than RETENTION_MS before `now`, at most `batchSize` per statement
 * and `maxBatches` statements per run. Unpublished events are never deleted.
 */
export async function pruneOutbox(
  db: Db,
  now: number,
  { batchSize = 1000, maxBatches = 5 }: { batchSize?: number; maxBatches?: number } = {},
): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await db
      .delete(invitationEvents)
      .where(
        inArray(
          invitationEvents.seq,
          db
            .select({ seq: invitationEvents.seq })
            .from(invitationEvents)
            .where(lt(invitationEvents.publishedAt, now - RETENTION_MS))
            .limit(batchSize),
        ),
      )
      .run();
    deleted += result.meta.changes;
    if (result.meta.changes < batchSize) break;
  }
  return deleted;
}

/** Per isolate and queue: the publishing run in progress, and whether writes came in since it began. */
const runs = new WeakMap<Queue<InvitationEvent>, { done: Promise<void>; again: boolean }>();

/**
 * Publishes the outbox from this isolate, one run at a time: a write that comes in while a run is
 * going asks it for one more round instead of starting its own, and waits for it. Under load, one
 * run's rounds carry the events of many requests, instead of every request claiming, sending and
 * marking on its own (three D1 writes each, on D1's single writer).
 */
export function publishSoon(db: Db, queue: Queue<InvitationEvent>, log: Logger): Promise<void> {
  const current = runs.get(queue);
  if (current) {
    current.again = true;
    return current.done;
  }
  const run = { again: false, done: Promise.resolve() };
  run.done = (async () => {
    try {
      do {
        run.again = false;
        await publishPending(db, queue, log, { maxRounds: 10 });
      } while (run.again);
    } catch (error) {
      log("error", "Publishing invitation events failed", { error: describeError(error) });
    } finally {
      // In the same turn as the last check of `again`: no write can slip in between.
      runs.delete(queue);
    }
  })();
  runs.set(queue, run);
  return run.done;
}

/**
 * After a request that may have changed invitations (any method but GET, HEAD and OPTIONS, with a
 * success status), publishes what the outbox holds, once the response has been sent
 * (`waitUntil`): events reach the queue within moments of their change, without delaying it. What
 * this misses (a failed send, a Worker stopped half-way) the cron publishes.
 */
export const publishAfterWrites = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (["GET", "HEAD", "OPTIONS"].includes(c.req.method) || c.res.status >= 300) return;
  c.executionCtx.waitUntil(publishSoon(createDb(c.env.DB), c.env.INVITATION_EVENTS, requestLogger(c)));
});
