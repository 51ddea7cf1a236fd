/// <reference path="./worker-configuration.d.ts" />
// The reference brings the `Env` type along when another project imports AppType from here.
import { createApp } from "./app";
import { createDb } from "./db/client";
import type { InvitationEvent } from "./events/events";
import { pruneOutbox } from "./events/outbox.repository";
import { publishPending } from "./events/publisher";
import { deliverEvents } from "./events/webhook";
import { pruneIdempotencyKeys } from "./idempotency/idempotency.repository";
import { expireInvitations } from "./jobs/expire-invitations";
import { describeError, withFields } from "./lib/log";

const app = createApp();

export default {
  fetch: app.fetch,
  /**
   * The cron trigger: sweep invitations that were due at the scheduled time, publish every event
   * still in the outbox (the sweep's, and any a request failed to publish), delete published
   * events past their retention and expired idempotency keys. Each step runs even if an earlier
   * one failed; the run fails if any did.
   */
  async scheduled(controller, env) {
    // A cron run has no request; its lines share an id of their own, in the same field.
    const log = withFields({ requestId: crypto.randomUUID(), cron: controller.cron });
    const db = createDb(env.DB);
    const failures: unknown[] = [];
    try {
      await expireInvitations(db, controller.scheduledTime, {}, log);
    } catch (error) {
      // Rows already swept stay swept; the next run starts from what is still due.
      log("error", "Expiry sweep failed", {
        scheduledTime: new Date(controller.scheduledTime).toISOString(),
        error: describeError(error),
      });
      failures.push(error);
    }
    // The run's subrequests (D1 queries and queue sends) stay within the free plan's 50 per
    // invocation: the sweep at most 15, publishing 8 rounds of 2 queries and a send, the outbox
    // prune at most 5, the idempotency-key prune at most 3: 47.
    try {
      const { published, complete } = await publishPending(db, env.INVITATION_EVENTS, log, { maxRounds: 8 });
      const pruned = await pruneOutbox(db, Date.now());
      log("info", "Outbox published", { published, complete, pruned });
    } catch (error) {
      log("error", "Outbox publishing failed", { error: describeError(error) });
      failures.push(error);
    }
    try {
      const deleted = await pruneIdempotencyKeys(db, Date.now());
      log("info", "Expired idempotency keys deleted", { deleted });
    } catch (error) {
      log("error", "Deleting expired idempotency keys failed", { error: describeError(error) });
      failures.push(error);
    }
    if (failures.length > 0) throw failures[0];
  },
  /** The INVITATION_EVENTS consumer: delivers each event to the webhook (see events/webhook.ts). */
  async queue(batch, env) {
    await deliverEvents(batch, env, withFields({ requestId: crypto.randomUUID(), queue: batch.queue }));
  },
} satisfies ExportedHandler<Env, InvitationEvent>;
export type { AppType } from "./app";
