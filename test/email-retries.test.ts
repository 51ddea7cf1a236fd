import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import { EMAIL_MAX_ATTEMPTS } from "../src/email/email-sender";
import { admin, invitee, publishWithEmails, read, sentTo, settled, settleQueues, until } from "./email";
import { api, type Caller, fetchWith, type InvitationWithLink, storedEvents } from "./helpers";
import { recordingQueue, runQueueBatch } from "./queues";

/*
 * The email sender's guarantees, observed at the EMAIL binding (its double, test/email-double.js,
 * refusing sends on demand): refusals retried with backoff (no delay in the tests), the last one
 * recorded FAILED with an invitation.delivery_failed event, the invitation itself untouched; and at
 * most one email per create or resend whatever the queue delivers twice, including after a Worker
 * stopped mid-send. Some cases run the Worker's queue handler on a batch of their own, to set what
 * the queue would deliver.
 */

afterAll(settleQueues);

async function create(who: Caller, email: string): Promise<InvitationWithLink> {
  const res = await api("/api/v1/invitations", { method: "POST", token: who.token, json: { email } });
  expect(res.status).toBe(201);
  return res.json();
}

const job = (invitation: { id: string }, send = 0) => ({
  kind: "invitation-email",
  invitationId: invitation.id,
  send,
});

/** The email sender run on `jobs`, as the email queue (or its dead-letter queue) would deliver them. */
const consume = (jobs: unknown[], options: { queue?: string; attempts?: number; env?: Partial<Env> } = {}) =>
  runQueueBatch(options.queue ?? "invitation-emails", jobs, options.env, options.attempts);

/** Nothing reached the EMAIL binding for `to`, and the invitation's delivery is as `delivery` says. */
async function expectNoEmail(who: Caller, id: string, to: string, delivery: Record<string, unknown>) {
  expect(await sentTo(to)).toEqual([]);
  expect((await read(who, id)).delivery).toMatchObject(delivery);
}

/** Sets the invitation's delivery columns, as an earlier attempt would have left them. */
function setDelivery(id: string, columns: { attempts: number; claimedUntil: number | null }) {
  return env.DB.prepare(
    "UPDATE invitations SET delivery_attempts = ?, delivery_last_attempt_at = ?, delivery_claimed_until = ? WHERE id = ?",
  )
    .bind(columns.attempts, Date.now() - 1000, columns.claimedUntil, id)
    .run();
}

/** An invitation to a fresh address whose next `times` sends the double refuses with `code`, published. */
async function refused(label: string, times: number, code?: string) {
  vi.spyOn(console, "warn").mockImplementation(() => {});
  const who = await admin();
  const to = invitee(label);
  await env.TEST_OUTBOX.failNext(to, times, code);
  const created = await create(who, to);
  await publishWithEmails();
  return { who, to, created };
}

describe("retries", () => {
  it("a refusal that may pass is retried, and the email then goes once: SENT after 2 attempts", async () => {
    const { who, to, created } = await refused("retry", 1, "E_RATE_LIMIT_EXCEEDED");
    const after = await settled(who, created.id);
    expect(after.delivery).toMatchObject({ status: "SENT", attempts: 2, lastError: null });
    expect(await sentTo(to)).toHaveLength(1);
  });

  it(`after the ${EMAIL_MAX_ATTEMPTS}th refusal the delivery is FAILED and invitation.delivery_failed is published; the invitation stays PENDING`, async () => {
    const { who, to, created } = await refused("down", 99);
    const after = await settled(who, created.id);
    expect(after.status).toBe("PENDING");
    expect(after.updatedAt).toBe(created.updatedAt);
    expect(after.delivery).toMatchObject({
      status: "FAILED",
      attempts: EMAIL_MAX_ATTEMPTS,
      sentAt: null,
      lastError: "E_INTERNAL_SERVER_ERROR",
    });
    expect(await sentTo(to)).toEqual([]);

    const events = await publishWithEmails();
    const failed = events.filter(
      (event) => event.organizationId === who.org && event.type === "invitation.delivery_failed",
    );
    expect(failed).toEqual([
      {
        id: expect.any(String),
        type: "invitation.delivery_failed",
        occurredAt: after.delivery.lastAttemptAt,
        organizationId: who.org,
        invitation: after,
      },
    ]);
  });

  it("a refusal no retry can fix fails at once, and a resend starts a fresh delivery that goes", async () => {
    const { who, to, created } = await refused("suppressed", 1, "E_RECIPIENT_SUPPRESSED");
    expect((await settled(who, created.id)).delivery).toMatchObject({
      status: "FAILED",
      attempts: 1,
      lastError: "E_RECIPIENT_SUPPRESSED",
    });

    const res = await fetchWith(
      { RESEND_COOLDOWN_SECONDS: "0" },
      `/api/v1/invitations/${created.id}/resend`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${who.token}` },
      },
    );
    expect(res.status).toBe(200);
    await publishWithEmails();
    expect((await settled(who, created.id)).delivery).toMatchObject({
      status: "SENT",
      attempts: 1,
      lastError: null,
    });
    expect(await sentTo(to)).toHaveLength(1);
  });
});

describe("at most once per create or resend", () => {
  it("a message delivered again, or three times in one batch, sends nothing more", async () => {
    const who = await admin();
    const to = invitee("twice");
    const created = await create(who, to);
    // Three copies of the job at once, as a publisher that stopped before recording would leave:
    // one claims and sends, the two that find its attempt in flight come back later.
    const first = await consume([job(created), job(created), job(created)]);
    expect({ acked: first.explicitAcks.length, retried: first.retryMessages.length }).toEqual({
      acked: 1,
      retried: 2,
    });
    expect(await sentTo(to)).toHaveLength(1);
    expect((await consume([job(created), job(created)])).explicitAcks).toHaveLength(2);
    // And once more later, through the queue.
    await env.TEST_CONSUMED_EMAILS.send(job(created), { contentType: "json" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await sentTo(to)).toHaveLength(1);
    expect((await read(who, created.id)).delivery).toMatchObject({ status: "SENT", attempts: 1 });
  });

  it("a Worker that stopped between claiming an attempt and recording it: nothing is sent again; FAILED, OUTCOME_UNKNOWN", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const who = await admin();
    const to = invitee("stopped");
    const created = await create(who, to);
    // Attempt 1 claimed, its hold lapsed, no outcome recorded: the Email Service may have taken it.
    await setDelivery(created.id, { attempts: 1, claimedUntil: Date.now() - 1 });
    const result = await consume([job(created)], { attempts: 2 });
    expect(result.explicitAcks).toEqual(["message-0"]);
    await expectNoEmail(who, created.id, to, {
      status: "FAILED",
      attempts: 1,
      lastError: "OUTCOME_UNKNOWN",
    });
    expect((await storedEvents(who.org)).map((event) => event.type)).toEqual([
      "invitation.created",
      "invitation.delivery_failed",
    ]);
  });

  it("an attempt still in flight elsewhere is waited for, not sent beside", async () => {
    const who = await admin();
    const to = invitee("inflight");
    const created = await create(who, to);
    await setDelivery(created.id, { attempts: 1, claimedUntil: Date.now() + 60_000 });
    const result = await consume([job(created)]);
    expect(result.retryMessages).toEqual([{ msgId: "message-0" }]);
    await expectNoEmail(who, created.id, to, { status: "QUEUED", attempts: 1 });
  });

  it("a job for a send a resend has replaced is acknowledged without sending the old link", async () => {
    const who = await admin();
    const to = invitee("replaced");
    const created = await create(who, to);
    const res = await fetchWith(
      { RESEND_COOLDOWN_SECONDS: "0" },
      `/api/v1/invitations/${created.id}/resend`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ sendEmail: false }),
      },
    );
    expect(res.status).toBe(200);
    expect((await consume([job(created, 0)])).explicitAcks).toEqual(["message-0"]);
    await expectNoEmail(who, created.id, to, { status: "SKIPPED", attempts: 0 });
  });

  it("an invitation revoked before its email went out is not emailed: SKIPPED", async () => {
    const who = await admin();
    const to = invitee("revoked");
    const created = await create(who, to);
    expect(
      (await api(`/api/v1/invitations/${created.id}`, { method: "DELETE", token: who.token })).status,
    ).toBe(200);
    expect((await consume([job(created)])).explicitAcks).toEqual(["message-0"]);
    await expectNoEmail(who, created.id, to, { status: "SKIPPED", attempts: 0 });
  });

  it("with another LINK_SECRET than the link was made with, no email carries a wrong link: FAILED, LINK_CHANGED, logged", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const who = await admin();
    const to = invitee("rotated");
    const created = await create(who, to);
    const env2 = { LINK_SECRET: "another-link-secret-after-a-rotation-0123456789" };
    expect((await consume([job(created)], { env: env2 })).explicitAcks).toEqual(["message-0"]);
    await expectNoEmail(who, created.id, to, {
      status: "FAILED",
      lastError: "LINK_CHANGED",
    });
    const lines = errors.mock.calls.map(([line]) => String(line));
    expect(lines.some((line) => line.includes("LINK_SECRET"))).toBe(true);
    expect(lines.join("\n")).not.toContain(to);
    expect(lines.join("\n")).not.toContain(created.token);
  });
});

describe("configuration and dead letters", () => {
  it("without EMAIL_FROM nothing is sent: retried, then FAILED with NOT_CONFIGURED on the last attempt", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const who = await admin();
    const to = invitee("unconfigured");
    const created = await create(who, to);
    const early = await consume([job(created)], { env: { EMAIL_FROM: "" }, attempts: 1 });
    expect(early.retryMessages).toEqual([{ msgId: "message-0" }]);
    expect((await read(who, created.id)).delivery.status).toBe("QUEUED");
    const last = await consume([job(created)], { env: { EMAIL_FROM: "" }, attempts: EMAIL_MAX_ATTEMPTS });
    expect(last.explicitAcks).toEqual(["message-0"]);
    await expectNoEmail(who, created.id, to, {
      status: "FAILED",
      lastError: "NOT_CONFIGURED",
    });
  });

  it("the dead-letter consumer records a send still QUEUED as FAILED (RETRIES_EXHAUSTED) and asks for its event's publication", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const who = await admin();
    const to = invitee("dead");
    const created = await create(who, to);
    const jobs = recordingQueue({ target: env.INVITATION_JOBS });
    const result = await consume([job(created), { kind: "invitation-email" }], {
      queue: "invitation-emails-dlq",
      env: { INVITATION_JOBS: jobs.queue },
    });
    expect(result.explicitAcks).toEqual(["message-0", "message-1"]);
    await expectNoEmail(who, created.id, to, {
      status: "FAILED",
      lastError: "RETRIES_EXHAUSTED",
    });
    expect(jobs.sent).toEqual([{ kind: "publish" }]);
    // A send already settled is left as it is.
    await consume([job(created)], { queue: "invitation-emails-dlq" });
    expect(
      (await storedEvents(who.org)).filter((event) => event.type === "invitation.delivery_failed"),
    ).toHaveLength(1);
  });

  it("never logs the address or the link", async () => {
    const lines: string[] = [];
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((line) => {
        lines.push(String(line));
      });
    }
    const who = await admin({ name: "Ada" });
    const to = invitee("quiet");
    // A refusal whose message names the address, as the Email Service's may.
    await env.TEST_OUTBOX.failNext(to, 1, "E_INTERNAL_SERVER_ERROR", `could not deliver to ${to}`);
    const created = await create(who, to);
    await consume([job(created)]);
    await consume([job(created)]);
    await until(
      () => sentTo(to),
      (sent) => sent.length === 1,
      "the email",
    );
    expect(lines.some((line) => line.includes("Invitation email sent"))).toBe(true);
    expect(lines.join("\n")).not.toContain(to);
    expect(lines.join("\n")).not.toContain(created.token);
  });
});
