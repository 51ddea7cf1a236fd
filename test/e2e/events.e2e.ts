/**
 * End to end: lifecycle events from the API to a webhook, through `wrangler dev`'s local
 * Queues: create and revoke through HTTP, the outbox published to INVITATION_EVENTS by the jobs
 * consumer, the Worker's own consumer POSTing each event to a receiver on this machine, which
 * checks the Standard Webhooks signature with node:crypto (not the Worker's code) and refuses the
 * first delivery of one event to see the queue retry it. And the invitation email, through the
 * email queue and `wrangler dev`'s simulated EMAIL binding, read back from its local email viewer
 * (the Local Explorer's API), as the README tells a developer to look. Run with `npm run test:e2e`.
 */
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { sign } from "hono/jwt";
import { type DevServer, freePort, localD1, startDev } from "../../scripts/wrangler-dev.ts";
import { emailTo, until } from "./local-email.ts";

const JWT_SECRET = "e2e-secret-not-for-production-0123456789";
const WEBHOOK_SECRET = `whsec_${Buffer.from("e2e-webhook-secret-not-for-production").toString("base64")}`;

type Delivery = { headers: Record<string, string>; body: string; verified: boolean; answered: number };
const deliveries: Delivery[] = [];
/** Organizations whose events the receiver refuses once each (503), to see the queue retry them. */
const refuseOnce = new Set<string>();

/** What a receiver runs: HMAC-SHA256 over `id.timestamp.body` with the decoded whsec_ key. */
function verify(headers: Record<string, string>, body: string): boolean {
  const key = Buffer.from(WEBHOOK_SECRET.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key)
    .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
    .digest();
  const age = Math.abs(Date.now() / 1000 - Number(headers["webhook-timestamp"]));
  return (
    age < 300 &&
    (headers["webhook-signature"] ?? "").split(" ").some((entry) => {
      const [version, signature = ""] = entry.split(",");
      const given = Buffer.from(signature, "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    })
  );
}

let receiver: Server;
let dev: DevServer;
let state: string;

before(async () => {
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [name, String(value)]),
      );
      const id = headers["webhook-id"] ?? "";
      const first = !deliveries.some((delivery) => delivery.headers["webhook-id"] === id);
      const refused = first && refuseOnce.has(JSON.parse(body).organizationId);
      const answered = refused ? 503 : 204;
      deliveries.push({ headers, body, verified: verify(headers, body), answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));

  state = mkdtempSync(path.join(tmpdir(), "invitations-e2e-"));
  await localD1(state).migrate();
  dev = await startDev({
    persistTo: state,
    vars: {
      JWT_SECRET,
      WEBHOOK_SECRET,
      WEBHOOK_URL: `http://127.0.0.1:${port}/invitation-events`,
      WEBHOOK_RETRY_DELAY_SECONDS: "1",
    },
    readyPath: "/openapi.json",
  });
});

after(async () => {
  await dev?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  if (state) rmSync(state, { recursive: true, force: true });
});

async function adminHeaders(org: string) {
  const token = await sign(
    { sub: "e2e-admin", org_id: org, role: "ORG_ADMIN", exp: Math.floor(Date.now() / 1000) + 600 },
    JWT_SECRET,
    "HS256",
  );
  return { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
}

const eventsOf = (org: string) =>
  deliveries
    .map((delivery) => ({ ...delivery, event: JSON.parse(delivery.body) }))
    .filter(({ event }) => event.organizationId === org);

test("create and revoke reach the webhook as signed invitation.created and invitation.revoked events", async () => {
  const org = crypto.randomUUID();
  const headers = await adminHeaders(org);
  const created = await fetch(`${dev.base}/api/v1/invitations`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email: "e2e@example.com", role: "OPERATOR" }),
  });
  assert.equal(created.status, 201);
  const invitation = (await created.json()) as { id: string; token: string };
  await until(() => eventsOf(org).length === 1, "invitation.created");
  const revoked = await fetch(`${dev.base}/api/v1/invitations/${invitation.id}`, {
    method: "DELETE",
    headers,
  });
  assert.equal(revoked.status, 200);
  await until(() => eventsOf(org).length === 2, "invitation.revoked");

  const events = eventsOf(org);
  assert.deepEqual(
    events.map(({ event }) => [
      event.type,
      event.invitation.id,
      event.invitation.status,
      event.invitation.role,
    ]),
    [
      ["invitation.created", invitation.id, "PENDING", "OPERATOR"],
      ["invitation.revoked", invitation.id, "REVOKED", "OPERATOR"],
    ],
  );
  for (const { verified, headers: received, event, body } of events) {
    assert.equal(verified, true, "the signature verifies");
    assert.equal(received["webhook-id"], event.id);
    assert.match(received["content-type"] ?? "", /^application\/json/);
    assert.ok(!body.includes(invitation.token), "no link token in the event");
  }
});

test("a delivery the receiver refuses is retried by the queue, with the same event id", async () => {
  const org = crypto.randomUUID();
  refuseOnce.add(org);
  const created = await fetch(`${dev.base}/api/v1/invitations`, {
    method: "POST",
    headers: await adminHeaders(org),
    body: JSON.stringify({ email: "retry@example.com" }),
  });
  assert.equal(created.status, 201);
  await until(() => eventsOf(org).length === 2, "the retry");
  const attempts = eventsOf(org);
  assert.deepEqual(
    attempts.map((delivery) => delivery.answered),
    [503, 204],
  );
  assert.equal(attempts[0]?.headers["webhook-id"], attempts[1]?.headers["webhook-id"]);
  assert.ok(attempts.every((delivery) => delivery.verified));
  // Nothing more comes once it was accepted.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.equal(eventsOf(org).length, 2);
});

test("a create's email reaches wrangler dev's local email viewer, with the link the API returned", async () => {
  const org = crypto.randomUUID();
  const to = `viewer-${org.slice(0, 8)}@example.com`;
  const created = await fetch(`${dev.base}/api/v1/invitations`, {
    method: "POST",
    headers: await adminHeaders(org),
    body: JSON.stringify({ email: to }),
  });
  assert.equal(created.status, 201);
  const invitation = (await created.json()) as { inviteUrl: string };
  // PUBLIC_URL is the dev server's own origin: links open its invitation page.
  assert.equal(new URL(invitation.inviteUrl).origin, dev.base);
  assert.equal(new URL(invitation.inviteUrl).pathname, "/invite");

  const result = await emailTo(dev.base, to);
  assert.equal(result.subject, "You're invited to join an organization");
  assert.ok(result.text.includes(invitation.inviteUrl), "the text carries the link");
  assert.ok(result.html.includes(invitation.inviteUrl.replaceAll("&", "&amp;")), "the HTML carries the link");
});
