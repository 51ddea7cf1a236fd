import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createDb } from "../src/db/client";
import { publishPending } from "../src/events/publisher";
import worker from "../src/index";
import { log } from "../src/lib/log";
import { caller, DAY, seedPending } from "./helpers";

/*
 * The Worker's queues in tests: recording stand-ins for its producers (which pass every message on
 * to the real, unconsumed, local queue), and its `queue` handler run on a batch of our own.
 */

/**
 * A real (unconsumed) producer, INVITATION_EVENTS unless `target` says another, recording the
 * body of every message the Worker hands it; `fail` makes it refuse instead, as an unavailable
 * queue does.
 */
export function recordingQueue(options: { fail?: boolean; target?: Queue } = {}) {
  const sent: { id: string; type: string; organizationId: string; [key: string]: unknown }[] = [];
  /** Sizes of the batches sent, in order. */
  const batches: number[] = [];
  /** Each message's delay, in order. */
  const delays: (number | undefined)[] = [];
  const queue = {
    async send(body: unknown, sendOptions?: QueueSendOptions) {
      await queue.sendBatch([{ body, ...sendOptions }]);
    },
    async sendBatch(messages: Iterable<MessageSendRequest>, batchOptions?: QueueSendBatchOptions) {
      const list = [...messages];
      if (options.fail) throw new Error("Queue send failed: simulated outage");
      await (options.target ?? env.INVITATION_EVENTS).sendBatch(list, batchOptions);
      for (const message of list) {
        sent.push(message.body as (typeof sent)[number]);
        delays.push(message.delaySeconds ?? batchOptions?.delaySeconds);
      }
      batches.push(list.length);
    },
  } as unknown as Queue;
  return { queue, sent, batches, delays };
}

/**
 * The outbox publisher's two queues, recorded (recordingQueue): `sent` the events, `emailJobs` the
 * email jobs; `fail` makes both refuse.
 */
export function recordingQueues(options: { fail?: boolean } = {}) {
  const events = recordingQueue(options);
  const emails = recordingQueue({ ...options, target: env.INVITATION_EMAILS });
  return {
    queues: { events: events.queue, emails: emails.queue },
    sent: events.sent,
    batches: events.batches,
    emailJobs: emails.sent as unknown as { kind: string; invitationId: string; send: number }[],
    emailBatches: emails.batches,
  };
}

/**
 * Runs the Worker's `queue` handler on `bodies`, as the queue `queueName` would deliver them (each
 * on its `attempts`-th try), with `overrides` in its environment (recording queues, say). Returns
 * what the handler decided for each message (ack, retry).
 */
export async function runQueueBatch(
  queueName: string,
  bodies: unknown[],
  overrides: Partial<Env> = {},
  attempts = 1,
) {
  const batch = createMessageBatch(
    queueName,
    bodies.map((body, i) => ({ id: `message-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  const queue: ExportedHandlerQueueHandler<Env> = worker.queue;
  await queue(batch, { ...env, ...overrides }, ctx);
  return getQueueResult(batch, ctx);
}

/** The jobs consumer run on `jobs`, as the INVITATION_JOBS queue would deliver them. */
export function runJobsBatch(jobs: unknown[], overrides: Partial<Env> = {}) {
  return runQueueBatch("invitation-jobs", jobs, overrides);
}

/** Publishes everything waiting, as the jobs consumer would, so a test starts from an empty outbox. */
export async function drain() {
  await publishPending(createDb(env.DB), recordingQueues().queues, log, { maxRounds: 10_000 });
}

/** A fresh organization whose `count` created events are all the outbox holds. */
export async function outboxWith(count: number, delivery: "SKIPPED" | "QUEUED" = "SKIPPED") {
  const admin = await caller();
  await drain();
  await seedPending(admin.org, count, Date.now(), Date.now() + DAY, delivery);
  return admin;
}

/** A jobs queue that records what the Worker asks of it. */
export const jobsQueue = (options: { fail?: boolean } = {}) =>
  recordingQueue({ ...options, target: env.INVITATION_JOBS });
