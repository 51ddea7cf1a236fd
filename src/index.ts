/// <reference path="./worker-configuration.d.ts" />
// The reference brings the `Env` type along when another project imports AppType from here.
import { createApp } from "./app";
import { createDb } from "./db/client";
import { giveUpInvitationEmails, sendInvitationEmails } from "./email/email-sender";
import type { InvitationEvent } from "./events/events";
import { publishQueues } from "./events/publisher";
import { deliverEvents } from "./events/webhook";
import { runJobs } from "./jobs/background";
import { runCron } from "./jobs/cron";
import { withInvocationCost } from "./lib/cost-log";
import { withFields } from "./lib/log";
import { messageKind } from "./lib/queue-messages";

const app = createApp();

/** A dead-letter queue's name ends so (wrangler.toml): its batches are what a consumer gave up. */
const DEAD_LETTER_SUFFIX = "-dlq";

/**
 * The Worker: the API, the cron run (jobs/cron.ts), and the consumers of its queues, told apart by
 * what their messages are (so a renamed queue still reaches the right one): lifecycle events to
 * the webhook (events/webhook.ts), invitation emails (email/email-sender.ts, and its dead letters),
 * background jobs (jobs/background.ts). Each cron run and queue batch logs its D1 cost in a line
 * of its own (lib/cost-log.ts).
 */
export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    // A cron run has no request; its lines share an id of their own, in the same field.
    const log = withFields({ requestId: crypto.randomUUID(), cron: controller.cron });
    const queues = { ...publishQueues(env), jobs: env.INVITATION_JOBS };
    await withInvocationCost(env, log, "cron", (d1) =>
      runCron(createDb(d1), queues, controller.scheduledTime, log),
    );
  },
  async queue(batch, env) {
    const log = withFields({ requestId: crypto.randomUUID(), queue: batch.queue });
    await withInvocationCost(env, log, "queue", async (d1) => {
      switch (messageKind(batch.messages[0]?.body)) {
        case "email":
          return batch.queue.endsWith(DEAD_LETTER_SUFFIX)
            ? giveUpInvitationEmails(batch, env, log, d1)
            : sendInvitationEmails(batch, env, log, d1);
        case "job":
          return runJobs(batch, env, log, d1);
        case "event":
          return deliverEvents(batch as MessageBatch<InvitationEvent>, env, log);
      }
    });
  },
} satisfies ExportedHandler<Env, unknown>;
export type { AppType } from "./app";
