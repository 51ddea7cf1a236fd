import { createMiddleware } from "hono/factory";
import { createDb, type Db } from "../db/client";
import type { AppEnv } from "../lib/app-env";
import { describeError, type Logger, requestLogger } from "../lib/log";
import { changedInvitations } from "../lib/request-changes";
import { type InvitationEvent, toEvent } from "./events";
import {
  claimUnpublished,
  markPublished,
  PUBLISH_BATCH_SIZE,
  releaseClaim,
  setAside,
} from "./outbox.repository";

export type PublishResult = {
  /** Events the queue accepted in this run. */
  published: number;
  /** False when the run stopped at `maxRounds` or a send failed, with events possibly left. */
  complete: boolean;
  /** True when the queue refused a send: the events stay in the outbox for a later run. */
  failed: boolean;
};

/**
 * Publishes unpublished events to the queue in `seq` order, up to PUBLISH_BATCH_SIZE per round:
 * claim a batch (held for CLAIM_MS, so a concurrent publisher takes other rows), send it with one
 * `sendBatch`, then mark it published. A failed send releases the claim at once and ends the run;
 * a publisher that dies between send and mark leaves its claim to expire, and the rows are sent
 * again. So delivery is at least once, never lost. A row that cannot be read as an event is
 * logged and held for SET_ASIDE_MS, so it does not block the rows behind it. Each round is two D1
 * queries and one queue send.
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
    const claimed = await claimUnpublished(db, now);
    if (claimed.length === 0) return { published, complete: true, failed: false };
    const events: { seq: number; body: InvitationEvent }[] = [];
    const unreadable: number[] = [];
    for (const row of claimed) {
      try {
        events.push({ seq: row.seq, body: toEvent(row) });
      } catch {
        unreadable.push(row.seq);
      }
    }
    if (unreadable.length > 0) {
      await setAside(db, unreadable, now);
      log("error", "Outbox rows that are not valid events were set aside for a day", { seqs: unreadable });
    }
    const seqs = events.map((event) => event.seq);
    if (events.length > 0) {
      try {
        await queue.sendBatch(events.map(({ body }) => ({ body, contentType: "json" })));
      } catch (error) {
        await releaseClaim(db, seqs);
        log("warn", "Publishing invitation events failed; they stay in the outbox", {
          events: seqs.length,
          error: describeError(error),
        });
        return { published, complete: false, failed: true };
      }
      await markPublished(db, seqs, Date.now());
      published += events.length;
    }
    if (claimed.length < PUBLISH_BATCH_SIZE) return { published, complete: true, failed: false };
  }
  return { published, complete: false, failed: false };
}

/**
 * A run's bounds. Rounds: each is two D1 queries and a queue send, and the run's work counts
 * against the invocation whose `waitUntil` holds it (50 subrequests on the free plan). Time: the
 * platform cancels `waitUntil` work 30 s after the response; a run still registered after
 * STALE_RUN_MS was cancelled, and the next write starts a new one.
 */
export const MAX_RUN_ROUNDS = 5;
export const MAX_RUN_MS = 15_000;
const STALE_RUN_MS = 25_000;

type Run = { done: Promise<void>; again: boolean; startedAt: number };

/** Per isolate and queue: the publishing run in progress. */
const runs = new WeakMap<Queue<InvitationEvent>, Run>();

/**
 * Publishes the outbox from this isolate, one run at a time: a write that comes in while a run is
 * going asks it for one more round instead of starting its own, and waits for it. Under load, one
 * run's rounds carry the events of many requests, instead of every request claiming, sending and
 * marking on its own (three D1 writes each, on D1's single writer). A run stops after
 * MAX_RUN_ROUNDS rounds, MAX_RUN_MS, or a refused send; what it leaves, the next write or the cron
 * publishes.
 */
export function publishSoon(db: Db, queue: Queue<InvitationEvent>, log: Logger): Promise<void> {
  const current = runs.get(queue);
  if (current && Date.now() - current.startedAt < STALE_RUN_MS) {
    current.again = true;
    return current.done;
  }
  const run: Run = { again: false, done: Promise.resolve(), startedAt: Date.now() };
  run.done = (async () => {
    try {
      let rounds = 0;
      let result: PublishResult;
      do {
        run.again = false;
        result = await publishPending(db, queue, log);
        rounds += 1;
      } while (
        (run.again || !result.complete) &&
        !result.failed &&
        rounds < MAX_RUN_ROUNDS &&
        Date.now() - run.startedAt < MAX_RUN_MS
      );
    } catch (error) {
      log("error", "Publishing invitation events failed", { error: describeError(error) });
    } finally {
      // In the same turn as the loop's last check: no write can slip in between. A newer run may
      // have replaced a stale one; that one stays.
      if (runs.get(queue) === run) runs.delete(queue);
    }
  })();
  runs.set(queue, run);
  return run.done;
}

/**
 * After a request that changed invitations (marked by `noteChange`, lib/request-changes.ts),
 * publishes what the outbox holds, once the response has been sent (`waitUntil`): events reach
 * the queue within moments of their change, without delaying it. Requests that changed nothing
 * (reads, refusals, dry runs, replayed answers) cost no query here. What this misses (a failed
 * send, a Worker stopped half-way) the cron publishes.
 */
export const publishAfterWrites = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (!changedInvitations(c)) return;
  c.executionCtx.waitUntil(publishSoon(createDb(c.env.DB), c.env.INVITATION_EVENTS, requestLogger(c)));
});
