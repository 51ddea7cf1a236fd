/// <reference path="./worker-configuration.d.ts" />
// The reference brings the `Env` type along when another project imports AppType from here.
import { createApp } from "./app";
import { createDb } from "./db/client";
import type { InvitationEvent } from "./events/events";
import { deliverEvents } from "./events/webhook";
import { runCron } from "./jobs/cron";
import { withFields } from "./lib/log";

const app = createApp();

/** The Worker: the API, the cron run (jobs/cron.ts) and the INVITATION_EVENTS consumer (events/webhook.ts). */
export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    // A cron run has no request; its lines share an id of their own, in the same field.
    const log = withFields({ requestId: crypto.randomUUID(), cron: controller.cron });
    await runCron(createDb(env.DB), env.INVITATION_EVENTS, controller.scheduledTime, log);
  },
  async queue(batch, env) {
    await deliverEvents(batch, env, withFields({ requestId: crypto.randomUUID(), queue: batch.queue }));
  },
} satisfies ExportedHandler<Env, InvitationEvent>;
export type { AppType } from "./app";
