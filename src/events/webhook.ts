import { encodeBase64 } from "hono/utils/encode";
import { readConfig, webhookKey } from "../lib/config";
import { describeError, type Logger } from "../lib/log";
import type { InvitationEvent } from "./events";

/** How long one delivery may take before it counts as failed and is retried. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Seconds before the next try of a message whose `attempts`-th delivery failed: `first` (the
 * WEBHOOK_RETRY_DELAY_SECONDS var, 30 by default), doubling with each attempt, at most an hour.
 */
export function retryDelaySeconds(attempts: number, first: number): number {
  return Math.min(first * 2 ** Math.max(0, attempts - 1), 3600);
}

/**
 * The headers of the Standard Webhooks scheme (standardwebhooks.com): `webhook-signature` is
 * `v1,` and the base64 HMAC-SHA256, under the WEBHOOK_SECRET key, of
 * `{webhook-id}.{webhook-timestamp}.{body}`: the body, the time it was signed and the event id.
 * A receiver recomputes it over the raw body, compares in constant time, and refuses a timestamp
 * too far from its clock (replays).
 */
export async function signatureHeaders(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<string, string>> {
  const key = await crypto.subtle.importKey(
    "raw",
    webhookKey(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signed = new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`);
  const signature = encodeBase64(await crypto.subtle.sign("HMAC", key, signed));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": `v1,${signature}`,
  };
}

/**
 * The queue consumer: POSTs each event to WEBHOOK_URL as JSON, signed. A 2xx acknowledges the
 * message; anything else (another status, a timeout, a network error) retries it after
 * `retryDelaySeconds`, until the queue's max_retries moves it to the dead-letter queue. Without a
 * WEBHOOK_URL the batch is acknowledged and logged: events are delivered nowhere. With a URL but no
 * WEBHOOK_SECRET nothing is sent unsigned: the messages are retried, so they reach the dead-letter
 * queue rather than being lost if the secret is never set.
 */
export async function deliverEvents(
  batch: MessageBatch<InvitationEvent>,
  env: Env,
  log: Logger,
): Promise<void> {
  const { webhookUrl, webhookSecret, webhookRetryDelaySeconds } = readConfig(env);
  const retry = (message: Message<InvitationEvent>) =>
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts, webhookRetryDelaySeconds) });
  const eventIds = batch.messages.map((message) => message.body.id);
  if (!webhookUrl) {
    log("info", "Invitation events received; no WEBHOOK_URL is set, so none was delivered", { eventIds });
    batch.ackAll();
    return;
  }
  if (!webhookSecret) {
    log("error", "WEBHOOK_URL is set but WEBHOOK_SECRET is not; events are kept for retry", { eventIds });
    for (const message of batch.messages) retry(message);
    return;
  }
  await Promise.all(
    batch.messages.map(async (message) => {
      const event = message.body;
      const body = JSON.stringify(event);
      const fields = { eventId: event.id, type: event.type, attempts: message.attempts };
      try {
        const headers = await signatureHeaders(webhookSecret, event.id, Math.floor(Date.now() / 1000), body);
        const res = await fetch(webhookUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", ...headers },
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        // Not read: only the status matters, and the connection is freed.
        await res.body?.cancel();
        if (res.ok) {
          message.ack();
          log("info", "Invitation event delivered", { ...fields, status: res.status });
          return;
        }
        log("warn", "Invitation event refused by the webhook; will retry", { ...fields, status: res.status });
      } catch (error) {
        log("warn", "Invitation event delivery failed; will retry", {
          ...fields,
          error: describeError(error),
        });
      }
      retry(message);
    }),
  );
}
