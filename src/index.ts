import { createApp } from "./app";
import { createDb } from "./db/client";
import { expireInvitations } from "./jobs/expire-invitations";
import { describeError, withFields } from "./lib/log";

const app = createApp();

export default {
  fetch: app.fetch,
  /** The cron trigger: sweep invitations that were due at the scheduled time. */
  async scheduled(controller, env) {
    // A cron run has no request; its lines share an id of their own, in the same field.
    const log = withFields({ requestId: crypto.randomUUID(), cron: controller.cron });
    try {
      await expireInvitations(createDb(env.DB), controller.scheduledTime, {}, log);
    } catch (error) {
      // Rows already swept stay swept; the next run starts from what is still due.
      log("error", "Expiry sweep failed", {
        scheduledTime: new Date(controller.scheduledTime).toISOString(),
        error: describeError(error),
      });
      throw error;
    }
  },
} satisfies ExportedHandler<Env>;
