import { createDb } from "../db/client";
import { databaseFor } from "../db/databases";
import { publishPending, publishQueues, SUBREQUESTS_PER_ROUND } from "../events/publisher";
import { describeError, type Logger } from "../lib/log";
import { type Job, JobSchema, PUBLISH_JOB } from "../lib/queue-messages";
import { SUBREQUEST_LIMIT } from "./cron";
import { expireInvitations } from "./expire-invitations";

/*
 * The INVITATION_JOBS consumer: the background work that keeps the outbox moving between cron
 * runs. Writes ask for "publish" (events/publisher.ts), a cron run that left work asks for
 * "publish" or "sweep". One invocation does what its subrequest budget allows and, while work is
 * left, sends itself the next job, so the work goes on invocation after invocation until it is
 * done, each inside the limits one invocation has. The queue runs one invocation at a time
 * (max_concurrency = 1 in wrangler.toml), and a batch of many jobs is one run: a thousand writes in
 * a second make one or two runs, not a thousand.
 *
 *   continuation send      1
 *   sweep (when asked)    10 UPDATEs of up to 1,000 invitations
 *   publishing            the rest, 4 per round of 100 events: 9 rounds after a sweep, 12 without
 *                        ---
 *                         <= 50
 */

/** Sweep statements per invocation, when a cron run handed on its sweep. */
export const JOB_SWEEP_MAX_BATCHES = 10;
/** Seconds before trying again when another publisher (the cron) holds the outbox's lease. */
export const BUSY_RETRY_SECONDS = 2;
/** Seconds before trying again when the queue refused the events: it is likely still down. */
export const FAILED_RETRY_SECONDS = 30;

/** Publishing rounds that fit in an invocation after `used` subrequests and the continuation. */
export function roundsLeft(used: number): number {
  return Math.floor((SUBREQUEST_LIMIT - 1 - used) / SUBREQUESTS_PER_ROUND);
}

/**
 * Runs a batch of jobs as one: the latest sweep cutoff asked for (if any) gets JOB_SWEEP_MAX_BATCHES
 * statements, publishing gets the rest of the budget, then the next job is sent if anything is
 * left (a sweep to go on with, or events still waiting). Unreadable messages are logged and
 * dropped. If D1 fails, the batch is retried (max_retries in wrangler.toml); after that the cron
 * picks the work up.
 */
export async function runJobs(
  batch: MessageBatch<unknown>,
  env: Env,
  log: Logger,
  d1: D1Database = databaseFor(env),
): Promise<void> {
  const jobs: Job[] = [];
  for (const message of batch.messages) {
    const parsed = JobSchema.safeParse(message.body);
    if (parsed.success) jobs.push(parsed.data);
    else log("error", "A background job that is not one was dropped", { messageId: message.id });
  }
  const cutoffs = jobs.flatMap((job) => (job.kind === "sweep" ? [job.cutoff] : []));
  const cutoff = cutoffs.length > 0 ? Math.max(...cutoffs) : undefined;
  const db = createDb(d1);
  try {
    let used = 0;
    let sweepLeft = false;
    if (cutoff !== undefined) {
      const sweep = await expireInvitations(db, cutoff, { maxBatches: JOB_SWEEP_MAX_BATCHES }, log);
      used += sweep.batches;
      sweepLeft = !sweep.complete;
    }
    const published = await publishPending(db, publishQueues(env), log, { maxRounds: roundsLeft(used) });
    const next: Job | undefined =
      cutoff !== undefined && sweepLeft
        ? { kind: "sweep", cutoff }
        : published.complete
          ? undefined
          : PUBLISH_JOB;
    const delaySeconds = published.failed ? FAILED_RETRY_SECONDS : published.busy ? BUSY_RETRY_SECONDS : 0;
    if (next) await env.INVITATION_JOBS.send(next, { contentType: "json", delaySeconds });
    log("info", "Background jobs ran", {
      jobs: jobs.length,
      swept: cutoff !== undefined,
      published: published.published,
      next: next?.kind ?? null,
    });
    batch.ackAll();
  } catch (error) {
    log("error", "Background jobs failed; they will be retried", { error: describeError(error) });
    batch.retryAll({ delaySeconds: FAILED_RETRY_SECONDS });
  }
}
