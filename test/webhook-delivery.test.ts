import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { InvitationEvent } from "../src/events/events";
import { signatureHeaders } from "../src/events/webhook";
import worker from "../src/index";
import { retryDelaySeconds } from "../src/lib/retry";
import { caller, fetchWith, freshDelivery, restoreAfterEach } from "./helpers";

/*
 * The consumer half: the Worker's `queue` handler delivering events to WEBHOOK_URL. The first
 * part goes through the real local queue the Worker consumes (wrangler.toml's, with retries
 * without delay and max_retries 2 in vitest.config.ts); the second calls the handler with a
 * MessageBatch of our own, to read its ack and retry decisions. The webhook receiver is the
 * Worker's outbound fetch, intercepted.
 */

type Delivery = { url: string; headers: Headers; body: string; at: number };

/** Intercepts the Worker's outbound fetch: records each delivery and answers with `respond`'s status. */
function receiver(respond: (delivery: Delivery, count: number) => number | Promise<number>) {
  const deliveries: Delivery[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const delivery = {
      url: String(input),
      headers: new Headers(init?.headers),
      body: String(init?.body),
      at: Date.now(),
    };
    deliveries.push(delivery);
    return new Response(null, { status: await respond(delivery, deliveries.length) });
  });
  return deliveries;
}

async function until(condition: () => boolean, what: string) {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 10_000) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function event(overrides: Partial<InvitationEvent> = {}): InvitationEvent {
  const id = crypto.randomUUID();
  const organizationId = crypto.randomUUID();
  const at = "2026-11-21T14:15:22.000Z";
  return {
    id: crypto.randomUUID(),
    type: "invitation.created",
    occurredAt: at,
    organizationId,
    invitation: {
      id,
      organizationId,
      email: "invitee@example.com",
      role: "VIEWER",
      status: "PENDING",
      invitedBy: "user_admin",
      createdAt: at,
      updatedAt: at,
      expiresAt: "2026-11-28T14:15:22.000Z",
      acceptedAt: null,
      acceptedBy: null,
      revokedAt: null,
      revokedBy: null,
      declinedAt: null,
      declinedBy: null,
      resendCount: 0,
      lastSentAt: at,
      delivery: freshDelivery(),
      publicMetadata: {},
      privateMetadata: {},
      redirectUrl: null,
    },
    ...overrides,
  };
}

/** The Standard Webhooks check a receiver runs, written out here with WebCrypto. */
async function verifies(secret: string, headers: Headers, body: string): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (char) => char.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const signed = new TextEncoder().encode(
    `${headers.get("webhook-id")}.${headers.get("webhook-timestamp")}.${body}`,
  );
  return (
    await Promise.all(
      (headers.get("webhook-signature") ?? "").split(" ").map(async (entry) => {
        const [version, signature] = entry.split(",");
        if (version !== "v1" || !signature) return false;
        const bytes = Uint8Array.from(atob(signature), (char) => char.charCodeAt(0));
        return crypto.subtle.verify("HMAC", key, bytes, signed);
      }),
    )
  ).some(Boolean);
}

restoreAfterEach();

afterAll(async () => {
  // Nothing this file sent is still being dispatched when its storage is torn down.
  await new Promise((resolve) => setTimeout(resolve, 200));
});

describe("webhook delivery through the local queue", () => {
  it("POSTs each event as JSON, signed with Standard Webhooks headers a receiver can verify", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const deliveries = receiver(() => 204);
    const sent = event();
    const before = Math.floor(Date.now() / 1000);
    await env.TEST_CONSUMED_EVENTS.send(sent, { contentType: "json" });
    await until(() => deliveries.length === 1, "the delivery");

    const [delivery] = deliveries;
    expect(delivery?.url).toBe(env.WEBHOOK_URL);
    expect(JSON.parse(delivery?.body ?? "")).toEqual(sent);
    expect(delivery?.headers.get("Content-Type")).toBe("application/json");
    expect(delivery?.headers.get("webhook-id")).toBe(sent.id);
    const timestamp = Number(delivery?.headers.get("webhook-timestamp"));
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(delivery?.headers.get("webhook-signature")).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(await verifies(env.WEBHOOK_SECRET, delivery?.headers ?? new Headers(), delivery?.body ?? "")).toBe(
      true,
    );
    // A body changed on the way no longer verifies.
    const tampered = (delivery?.body ?? "").replace("VIEWER", "ORG_ADMIN");
    expect(await verifies(env.WEBHOOK_SECRET, delivery?.headers ?? new Headers(), tampered)).toBe(false);
  });

  it("retries a refused delivery with the same event id, and stops once the receiver answers 2xx", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const deliveries = receiver((_delivery, count) => (count === 1 ? 503 : 200));
    const sent = event({ type: "invitation.revoked" });
    await env.TEST_CONSUMED_EVENTS.send(sent, { contentType: "json" });
    await until(() => deliveries.length === 2, "the retry");
    // Acknowledged: no third attempt comes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(deliveries.map((delivery) => delivery.headers.get("webhook-id"))).toEqual([sent.id, sent.id]);
    expect(deliveries.map((delivery) => JSON.parse(delivery.body))).toEqual([sent, sent]);
  });

  it("gives up after the queue's retries (max_retries, 2 in the test configuration): three attempts, then no more", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const deliveries = receiver(() => 500);
    const sent = event({ type: "invitation.accepted" });
    await env.TEST_CONSUMED_EVENTS.send(sent, { contentType: "json" });
    // max_retries 2 in the test configuration: the first try and two retries.
    await until(() => deliveries.length === 3, "three attempts");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(deliveries).toHaveLength(3);
  });
});

describe("the consumer's decisions", () => {
  async function consume(
    messages: { body: InvitationEvent; attempts?: number }[],
    overrides: Partial<Env> = {},
  ) {
    const batch = createMessageBatch<InvitationEvent>(
      "invitation-events",
      messages.map(({ body, attempts = 1 }, i) => ({
        id: `message-${i}`,
        timestamp: new Date(),
        attempts,
        body,
      })),
    );
    // The test batch records which messages were retried, not the delay asked for: that is read here.
    const delays = new Map<string, number | undefined>();
    for (const message of batch.messages) {
      const retry = message.retry.bind(message);
      vi.spyOn(message, "retry").mockImplementation((options) => {
        delays.set(message.id, options?.delaySeconds);
        retry(options);
      });
    }
    const ctx = createExecutionContext();
    await worker.queue(batch, { ...env, ...overrides });
    return { ...(await getQueueResult(batch, ctx)), delays: Object.fromEntries(delays) };
  }

  it("acknowledges each message the webhook accepted and retries only the refused ones, with a growing delay", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const refused = event();
    receiver((delivery) => (delivery.headers.get("webhook-id") === refused.id ? 500 : 200));
    const result = await consume([{ body: event() }, { body: refused, attempts: 3 }, { body: event() }], {
      WEBHOOK_RETRY_DELAY_SECONDS: "30",
    });
    expect(result.explicitAcks.sort()).toEqual(["message-0", "message-2"]);
    expect(result.retryMessages).toEqual([{ msgId: "message-1" }]);
    // Its third failure: 30 s doubled twice.
    expect(result.delays).toEqual({ "message-1": 120 });
  });

  it("retries a network failure, a timeout and a redirect (which it does not follow)", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const network = event();
    const timeout = event();
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) => {
      const id = new Headers(init?.headers).get("webhook-id");
      if (id === network.id) throw new TypeError("Network connection lost");
      if (id === timeout.id) throw new DOMException("The operation timed out", "TimeoutError");
      expect(init?.redirect).toBe("manual");
      return new Response(null, { status: 302, headers: { Location: "https://elsewhere.example.com/" } });
    });
    const result = await consume([{ body: network }, { body: timeout }, { body: event() }]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((message) => message.msgId).sort()).toEqual([
      "message-0",
      "message-1",
      "message-2",
    ]);
  });

  it("sends at most six at a time, the connections one invocation may hold", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    let inFlight = 0;
    let most = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      return new Response(null, { status: 204 });
    });
    const result = await consume(Array.from({ length: 10 }, () => ({ body: event() })));
    expect(result.explicitAcks).toHaveLength(10);
    expect(most).toBe(6);
  });

  it("with invalid webhook settings sends nothing, keeps the events for retry, and leaves the API working", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const deliveries = receiver(() => 200);
    // Not the Standard Webhooks form.
    const broken = { WEBHOOK_SECRET: "a-plain-secret-that-is-long-enough-0123456789" };
    const result = await consume([{ body: event(), attempts: 2 }], broken);
    expect(deliveries).toEqual([]);
    expect(result.delays).toEqual({ "message-0": 60 });
    expect(JSON.parse(String(errors.mock.calls[0]?.[0]))).toMatchObject({
      level: "error",
      message: "The webhook settings are invalid; events are kept for retry",
    });

    vi.spyOn(console, "log").mockImplementation(() => {});
    const admin = await caller();
    const created = await fetchWith(broken, "/api/v1/invitations", {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: "still-works@example.com" }),
    });
    expect(created.status).toBe(201);
  });

  it("without WEBHOOK_URL acknowledges everything and sends nothing", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const deliveries = receiver(() => 200);
    const result = await consume([{ body: event() }, { body: event() }], { WEBHOOK_URL: "" });
    expect(result.ackAll).toBe(true);
    expect(result.retryMessages).toEqual([]);
    expect(deliveries).toEqual([]);
  });

  it("with a WEBHOOK_URL but no WEBHOOK_SECRET sends nothing unsigned and keeps the events for retry", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const deliveries = receiver(() => 200);
    const result = await consume([{ body: event() }], { WEBHOOK_SECRET: "" });
    expect(deliveries).toEqual([]);
    expect(result.ackAll).toBe(false);
    expect(result.retryMessages).toEqual([{ msgId: "message-0" }]);
    expect(result.delays).toEqual({ "message-0": 0 });
    expect(JSON.parse(String(errors.mock.calls[0]?.[0]))).toMatchObject({
      level: "error",
      message: "WEBHOOK_URL is set but WEBHOOK_SECRET is not; events are kept for retry",
    });
  });
});

describe("signing and backoff", () => {
  it("signs as the Standard Webhooks specification's own example does", async () => {
    const headers = await signatureHeaders(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("waits 30 s after the first failure, doubling each time, never more than an hour", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((attempts) => retryDelaySeconds(attempts, 30))).toEqual([
      30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600,
    ]);
  });
});
