import { createApp } from "./app";
import { createDb } from "./db/client";
import { expireInvitations } from "./jobs/expire-invitations";

const app = createApp();

export default {
  fetch: app.fetch,
  /** The cron trigger: sweep invitations that were due at the scheduled time. */
  async scheduled(controller, env) {
    await expireInvitations(createDb(env.DB), controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;
