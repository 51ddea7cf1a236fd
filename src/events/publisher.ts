import { createMiddleware } from "hono/factory";
import type { Db } from "../db/client";
import type { InvitationEventRow } from "../db/schema";
import type { AppEnv } from "../lib/app-env";
import { afterResponse } from "../lib/cost-log";
import { describeError, type Logger } from "../lib/log";
import { type EmailJob, type Job, PUBLISH_JOB } from "../lib/queue-messages";
import { changedInvitations } from "../lib/request-changes";
import { type InvitationEvent, toEvent } from "./events";
import { endRound, PUBLISH_BATCH_SIZE, releaseLease, startRound } from "./outbox.repository";

/** Where the outbox goes: every event to INVITATION_EVENTS, and an email job per email to send. */
export type PublishQueues = { events: Queue<InvitationEvent>; emails: Queue<EmailJob> };

/** The Worker's queues, as the publisher takes them. */
export function publishQueues(env: Env): PublishQueues {
  return { events: env.INVITATION_EVENTS, emails: env.INVITATION_EMAILS };
}

export type PublishResult = {
  /** Events the queue accepted in this run. */
  published: number;
  /** False when the run stopped at `maxRounds`, a failed send or a busy lease, with events possibly left. */
  complete: boolean;
  /** True when the queue refused a send: the events stay in the outbox for a later run. */
  failed: boolean;
  /** True when another publisher held the lease: it is publishing, this run did nothing more. */
  busy: boolean;
};

/**
 * A round's subrequests at most: start (lease and events, one batch), the events' `sendBatch`, the
 * email jobs' `sendBatch`, end (position and lease).
 */
export const SUBREQUESTS_PER_ROUND = 4;

/** The email job a published event asks for: created or resent with its email QUEUED. */
function emailJobOf(row: InvitationEventRow, event: InvitationEvent, queued: boolean): EmailJob[] {
  if (!queued || (event.type !== "invitation.created" && event.type !== "invitation.resent")) return [];
  return [{ kind: "invitation-email", invitationId: row.invitationId, send: event.invitation.resendCount }];
}

/**
 * Publishes the outbox's events after its position, in `seq` order, PUBLISH_BATCH_SIZE per
 * round, up to `maxRounds` rounds. A round holds the outbox's lease (so two publishers never read
 * the same events), reads the events, sends them to the events queue and, for each created or
 * resent invitation whose email is QUEUED, an email job to the emails queue, then moves the
 * position past them and gives the lease back. A failed send gives the lease back without moving
 * the position: a later run sends the events again. A publisher that dies between send and record
 * leaves its lease to lapse (LEASE_MS), and the next one sends the events again: delivery is at
 * least once, never lost (and the email sender sends each email at most once whatever its queue
 * holds). An outbox row that cannot be read as an event (a hand edit, a drifted trigger) is
 * logged and passed over, so it does not block the events behind it.
 */
export async function publishPending(
  db: Db,
  queues: PublishQueues,
  log: Logger,
  { maxRounds = 1 }: { maxRounds?: number } = {},
): Promise<PublishResult> {
  let published = 0;
  const result = (more: Partial<PublishResult>) => ({
    published,
    complete: false,
    failed: false,
    busy: false,
    ...more,
  });
  for (let round = 0; round < maxRounds; round++) {
    const holder = crypto.randomUUID();
    const rows = await startRound(db, holder, Date.now());
    if (rows === undefined) return result({ busy: true });
    const last = rows.at(-1);
    if (last === undefined) return result({ complete: true });
    const events: InvitationEvent[] = [];
    const emails: EmailJob[] = [];
    const unreadable: number[] = [];
    for (const row of rows) {
      try {
        const { event, invitation } = toEvent(row);
        events.push(event);
        emails.push(...emailJobOf(row, event, invitation.deliveryStatus === "QUEUED"));
      } catch {
        unreadable.push(row.seq);
      }
    }
    if (unreadable.length > 0) {
      log("error", "Outbox rows that are not valid events were passed over", { seqs: unreadable });
    }
    try {
      await Promise.all([
        events.length > 0 && queues.events.sendBatch(events.map((body) => ({ body, contentType: "json" }))),
        emails.length > 0 && queues.emails.sendBatch(emails.map((body) => ({ body, contentType: "json" }))),
      ]);
    } catch (error) {
      await releaseLease(db, holder);
      log("warn", "Publishing invitation events failed; they stay in the outbox", {
        events: events.length,
        error: describeError(error),
      });
      return result({ failed: true });
    }
    await endRound(db, holder, last.seq);
    published += events.length;
    if (rows.length < PUBLISH_BATCH_SIZE) return result({ complete: true });
  }
  return result({});
}

/**
 * How long a "publish" job waits in the queue before it runs. While it waits, later writes in the
 * same isolate need send none of their own: it starts after their changes committed.
 */
export const PUBLISH_JOB_DELAY_SECONDS = 1;

/** Kept clear of the job's start, for clocks that disagree a little. */
const PUBLISH_JOB_MARGIN_MS = 200;

/** Per isolate and queue: until when the last "publish" job sent from here cannot have started. */
const waitingJobs = new WeakMap<Queue<Job>, number>();

/** Whether a "publish" job this isolate sent is still waiting to start: a write needs none of its own. */
function publishJobWaiting(queue: Queue<Job>, now = Date.now()): boolean {
  return (waitingJobs.get(queue) ?? 0) > now;
}

/**
 * Asks for the outbox to be published: a "publish" job on INVITATION_JOBS, run by the jobs
 * consumer about PUBLISH_JOB_DELAY_SECONDS later. One job per isolate covers every write made
 * while it waits, so under load an isolate sends about one a second, whatever its writes. Awaits
 * only its own send; it never joins another request's work. A refused send is logged: the cron
 * publishes what it would have.
 */
export async function requestPublish(queue: Queue<Job>, log: Logger): Promise<void> {
  const now = Date.now();
  if (publishJobWaiting(queue, now)) return;
  waitingJobs.set(queue, now + PUBLISH_JOB_DELAY_SECONDS * 1000 - PUBLISH_JOB_MARGIN_MS);
  try {
    await queue.send(PUBLISH_JOB, { contentType: "json", delaySeconds: PUBLISH_JOB_DELAY_SECONDS });
  } catch (error) {
    waitingJobs.delete(queue);
    log("warn", "Requesting the outbox's publication failed; the cron will publish it", {
      error: describeError(error),
    });
  }
}

/**
 * After a request that changed invitations (marked by `noteChange`, lib/request-changes.ts), asks
 * for the outbox to be published once the response has been sent (`waitUntil`): one queue send at
 * most, no D1 query, whatever the outbox holds, so a request's cost is its own; it logs its own
 * cost line (`after: "publish"`) with the request's id. Requests that changed nothing (reads,
 * refusals, dry runs, replayed answers) send nothing, and nor does a write while a job sent from
 * this isolate still waits to start: that job covers it, and no work (no line) is left running.
 */
export const publishAfterWrites = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (!changedInvitations(c) || publishJobWaiting(c.env.INVITATION_JOBS)) return;
  afterResponse(c, "publish", (_db, log) => requestPublish(c.env.INVITATION_JOBS, log));
});
