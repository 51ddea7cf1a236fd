import { decodeBase64, encodeBase64 } from "hono/utils/encode";
import { readWebhookConfig, type WebhookConfig } from "../lib/config";
import { describeError, type Logger } from "../lib/log";
import { retryDelaySeconds } from "../lib/retry";
import type { InvitationEvent } from "./events";

/** How long one delivery may take before it counts as failed and is retried. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Deliveries in flight at once: a Worker invocation keeps at most six connections open. */
export const DELIVERY_CONCURRENCY = 6;

/**
 * The headers of the Standard Webhooks scheme (standardwebhooks.com): `webhook-signature` is
 * `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` (the event id,
 * the time it was signed and the body) under the key `secret` stands for: the base64 after its
 * `whsec_`. A receiver recomputes it over the raw body, compares in constant time, and refuses a
 * timestamp too far from its clock (replays).
 */
export async function signatureHeaders(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<string, string>> {
  const key = await crypto.subtle.importKey(
    "raw",
    decodeBase64(secret.replace(/^whsec_/, "")),
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

/** POSTs one event, signed: true when the webhook answered 2xx. */
async function deliver(url: string, secret: string, message: Message<InvitationEvent>, log: Logger) {
  const event = message.body;
  const body = JSON.stringify(event);
  const fields = { eventId: event.id, type: event.type, attempts: message.attempts };
  try {
    const headers = await signatureHeaders(secret, event.id, Math.floor(Date.now() / 1000), body);
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    // Not read: only the status matters, and the connection is freed.
    await res.body?.cancel();
    if (res.ok) {
      log("info", "Invitation event delivered", { ...fields, status: res.status });
      return true;
    }
    log("warn", "Invitation event refused by the webhook; will retry", { ...fields, status: res.status });
  } catch (error) {
    log("warn", "Invitation event delivery failed; will retry", { ...fields, error: describeError(error) });
  }
  return false;
}

/**
 * The queue consumer: POSTs each event to WEBHOOK_URL as JSON, signed, at most
 * DELIVERY_CONCURRENCY at a time (so each delivery's timeout runs while it is really being sent).
 * A 2xx acknowledges the message; anything else (another status, a redirect, a timeout, a
 * network error) retries it after `retryDelaySeconds`, until the queue's max_retries moves it to
 * the dead-letter queue. Without a WEBHOOK_URL the batch is acknowledged and logged: events are
 * delivered nowhere. With a URL but no WEBHOOK_SECRET, or settings that do not validate, nothing
 * is sent (never unsigned): the messages are retried, with the same delays, and logged.
 */
export async function deliverEvents(
  batch: MessageBatch<InvitationEvent>,
  env: Env,
  log: Logger,
): Promise<void> {
  const eventIds = batch.messages.map((message) => message.body.id);
  let config: WebhookConfig;
  try {
    config = readWebhookConfig(env);
  } catch (error) {
    log("error", "The webhook settings are invalid; events are kept for retry", {
      eventIds,
      error: describeError(error),
    });
    for (const message of batch.messages)
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, 30) });
    return;
  }
  const retry = (message: Message<InvitationEvent>) =>
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts, config.retryDelaySeconds) });
  const { url, secret } = config;
  if (!url) {
    log("info", "Invitation events received; no WEBHOOK_URL is set, so none was delivered", { eventIds });
    batch.ackAll();
    return;
  }
  if (!secret) {
    log("error", "WEBHOOK_URL is set but WEBHOOK_SECRET is not; events are kept for retry", { eventIds });
    for (const message of batch.messages) retry(message);
    return;
  }
  const waiting = [...batch.messages];
  const sender = async () => {
    for (let message = waiting.shift(); message; message = waiting.shift()) {
      if (await deliver(url, secret, message, log)) message.ack();
      else retry(message);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELIVERY_CONCURRENCY, waiting.length) }, sender));
}
