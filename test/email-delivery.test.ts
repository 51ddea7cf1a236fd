import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import { admin, emailsTo, invitee, publishWithEmails, read, sentTo, settled, settleQueues } from "./email";
import {
  api,
  type Caller,
  fetchWith,
  freezeClock,
  freshDelivery,
  type InvitationWithLink,
  signToken,
  storedEvents,
} from "./helpers";

/*
 * The invitation email, as it reaches the EMAIL binding (a double that enforces what the Email
 * Service documents, test/email-double.js), through the real path: the write, the outbox, the
 * email job on the local queue the Worker consumes, the Worker's email sender. What the message
 * says, with and without names; what a caller can and cannot put into it; `sendEmail: false` on
 * create, bulk items and resend; the delivery every read shows. Retries, failures and the
 * at-most-once guarantee: test/email-retries.test.ts.
 */

afterAll(settleQueues);

const FROM = { email: "invitations@example.com", name: "Example Invitations" };

async function create(who: Caller, email: string, body: Record<string, unknown> = {}) {
  const res = await api("/api/v1/invitations", {
    method: "POST",
    token: who.token,
    json: { email, ...body },
  });
  expect(res.status).toBe(201);
  return res.json<InvitationWithLink>();
}

/** Creates an invitation to `to`, publishes the outbox, and waits for the email that reaches EMAIL. */
async function createAndMail(who: Caller, to: string, body: Record<string, unknown> = {}) {
  const created = await create(who, to, body);
  await publishWithEmails();
  const [email] = await emailsTo(to, 1);
  return { created, email };
}

async function resend(who: Caller, id: string, init: { json?: unknown } = {}) {
  const res = await fetchWith({ RESEND_COOLDOWN_SECONDS: "0" }, `/api/v1/invitations/${id}/resend`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${who.token}`,
      ...(init.json !== undefined && { "Content-Type": "application/json" }),
    },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  expect(res.status).toBe(200);
  return res.json<InvitationWithLink>();
}

describe("the invitation email", () => {
  it("says who invited them, to which organization, as which role, until when, and the link: in text and HTML, once", async () => {
    // 15 January 2030, 09:05 UTC: the invitation expires seven days later.
    freezeClock(Date.UTC(2030, 0, 15, 9, 5));
    const who = await admin({ name: "Ada Lovelace", org_name: "Acme" });
    const to = invitee("ada");
    const created = await create(who, to, { role: "OPERATOR" });
    vi.useRealTimers();
    // A token of the present, to read it back.
    const reader = { ...who, token: await signToken({ org: who.org, sub: who.sub }) };
    expect(created.delivery).toEqual(freshDelivery("QUEUED"));
    await publishWithEmails();

    const [email, ...more] = await emailsTo(to, 1);
    expect(more).toEqual([]);
    expect(email).toMatchObject({ from: FROM, to, subject: "Ada Lovelace invited you to join Acme" });
    expect(email?.text).toBe(
      [
        "Hello,",
        "",
        "Ada Lovelace has invited you to join Acme as an operator.",
        "",
        "Accept the invitation:",
        created.inviteUrl,
        "",
        "The invitation expires on 22 January 2030 at 09:05 UTC. If you were not expecting it, you can ignore this email: nothing happens unless you accept.",
        "",
      ].join("\n"),
    );
    expect(email?.html).toContain('<html lang="en">');
    expect(email?.html).toContain(
      "Ada Lovelace has invited you to join <strong>Acme</strong> as an operator.",
    );
    expect(email?.html).toContain(`<a href="${created.inviteUrl}"`);
    expect(email?.html).toContain("22 January 2030 at 09:05 UTC");

    const after = await settled(reader, created.id);
    expect(after.delivery).toEqual({
      status: "SENT",
      attempts: 1,
      lastAttemptAt: expect.any(String),
      sentAt: expect.any(String),
      lastError: null,
    });
    expect(Date.parse(String(after.delivery.sentAt))).toBeGreaterThanOrEqual(
      Date.parse(String(after.delivery.lastAttemptAt)),
    );
    // Sending is not a change of the invitation: no event, the same status and updatedAt.
    expect({ status: after.status, updatedAt: after.updatedAt }).toEqual({
      status: "PENDING",
      updatedAt: created.updatedAt,
    });
    expect((await storedEvents(who.org)).map((event) => event.type)).toEqual(["invitation.created"]);
  });

  it("reads well without names: no inviter, no organization name", async () => {
    const who = await admin();
    const to = invitee("plain");
    const { created, email } = await createAndMail(who, to);
    expect(email?.subject).toBe("You're invited to join an organization");
    expect(email?.text).toContain("You have been invited to join an organization as a viewer.");
    expect(email?.text).toContain(created.inviteUrl);
  });

  it("with only the inviter's name, invites to their organization", async () => {
    const who = await admin({ name: "Grace Hopper", org_name: 42 });
    const to = invitee("grace");
    const { email } = await createAndMail(who, to, { role: "ORG_ADMIN" });
    expect(email?.subject).toBe("Grace Hopper invited you to join their organization");
    expect(email?.text).toContain(
      "Grace Hopper has invited you to join their organization as an administrator.",
    );
  });

  it("escapes what a caller supplies in the HTML, and lets none of it add a header or break the subject", async () => {
    const who = await admin({
      name: 'Eve <script>alert(1)</script> & "co"\r\nBcc: victim@example.net',
      org_name: `\u202eEvil\u202c ${"Corp ".repeat(200)}`,
    });
    const to = invitee("eve");
    const { created, email } = await createAndMail(who, to);
    // One line, bounded: the double (like the Email Service) refuses CR or LF in a subject.
    expect(email?.subject).not.toMatch(/[\r\n\u202a-\u202e]/);
    expect(email?.subject.length).toBeLessThanOrEqual(998);
    expect(email?.subject).toBe(
      `Eve <script>alert(1)</script> & "co" Bcc: victim@example.net invited you to join Evil ${"Corp ".repeat(18)}Corp`,
    );
    expect(email?.html).toContain(
      "Eve &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot; Bcc: victim@example.net",
    );
    expect(email?.html).not.toContain("<script>");
    expect(email?.text.split("\n")[2]).toMatch(
      /^Eve <script>alert\(1\)<\/script> & "co" Bcc: victim@example\.net has invited you/,
    );
    expect((await settled(who, created.id)).delivery.status).toBe("SENT");
  });
});

describe("sendEmail", () => {
  it("false on create skips the email: delivery SKIPPED on the answer, on reads and in the event; nothing is sent", async () => {
    const who = await admin();
    const to = invitee("skip");
    const created = await create(who, to, { sendEmail: false });
    const skipped = { status: "SKIPPED", attempts: 0, lastAttemptAt: null, sentAt: null, lastError: null };
    expect(created.delivery).toEqual(skipped);
    const events = await publishWithEmails();
    expect(events.find((event) => event.organizationId === who.org)?.invitation).toMatchObject({
      delivery: skipped,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await sentTo(to)).toEqual([]);
    expect((await read(who, created.id)).delivery).toEqual(skipped);
  });

  it("is per item in a bulk create: each item emailed unless it says false", async () => {
    const who = await admin({ org_name: "Bulk Co" });
    const [a, b, c] = [invitee("bulk-a"), invitee("bulk-b"), invitee("bulk-c")];
    const res = await api("/api/v1/invitations/bulk", {
      method: "POST",
      token: who.token,
      json: { invitations: [{ email: a }, { email: b, sendEmail: false }, { email: c, sendEmail: true }] },
    });
    expect(res.status).toBe(200);
    const { results } = await res.json<{ results: { invitation: InvitationWithLink }[] }>();
    expect(results.map((result) => result.invitation.delivery.status)).toEqual([
      "QUEUED",
      "SKIPPED",
      "QUEUED",
    ]);
    await publishWithEmails();
    await emailsTo(c, 1);
    const [toA] = await emailsTo(a, 1);
    expect(toA?.subject).toBe("You're invited to join Bulk Co");
    expect(toA?.text).toContain(results[0]?.invitation.inviteUrl);
    expect(await sentTo(b)).toEqual([]);
  });

  it("a resend emails the new link with a fresh delivery; with sendEmail false it skips; without a body it emails as before", async () => {
    const who = await admin({ name: "Ada", org_name: "Acme" });
    const to = invitee("again");
    const created = await create(who, to);
    await publishWithEmails();
    expect((await settled(who, created.id)).delivery).toMatchObject({ status: "SENT", attempts: 1 });

    const resent = await resend(who, created.id);
    expect(resent.delivery).toEqual(freshDelivery("QUEUED"));
    await publishWithEmails();
    const sent = await emailsTo(to, 2);
    expect(sent[1]?.text).toContain(resent.inviteUrl);
    expect(sent[1]?.text).not.toContain(created.token);
    expect((await settled(who, created.id)).delivery).toMatchObject({ status: "SENT", attempts: 1 });

    const quiet = await resend(who, created.id, { json: { sendEmail: false } });
    expect(quiet.delivery.status).toBe("SKIPPED");
    const explicit = await resend(who, created.id, { json: { sendEmail: true } });
    expect(explicit.delivery.status).toBe("QUEUED");
    await publishWithEmails();
    const all = await emailsTo(to, 3);
    expect(all[2]?.text).toContain(explicit.inviteUrl);
    // The quiet resend's link was never emailed.
    expect(all.some((email) => email.text.includes(quiet.token))).toBe(false);
  });

  it("a resend refuses a body that is not { sendEmail: boolean }, and changes nothing", async () => {
    const who = await admin();
    const created = await create(who, invitee("strict"), { sendEmail: false });
    for (const body of [{ sendEmail: "no" }, { sendEmial: false }, [false]]) {
      const res = await fetchWith(
        { RESEND_COOLDOWN_SECONDS: "0" },
        `/api/v1/invitations/${created.id}/resend`,
        {
          method: "POST",
          headers: { Authorization: `Bearer ${who.token}`, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        },
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "VALIDATION_ERROR" });
    }
    expect((await read(who, created.id)).resendCount).toBe(0);
  });

  it("the email and the answer carry the same link, which opens the invitation", async () => {
    const who = await admin();
    const to = invitee("link");
    const { created, email } = await createAndMail(who, to);
    const link = /https:\/\/\S+/.exec(email?.text ?? "")?.[0] ?? "";
    expect(link).toBe(created.inviteUrl);
    expect(link.startsWith(`${env.INVITE_URL_BASE}?token=`)).toBe(true);
    const token = new URL(link).searchParams.get("token");
    const preview = await api(`/api/v1/invitations/lookup?token=${token}`);
    expect(preview.status).toBe(200);
    expect(await preview.json()).toMatchObject({ id: created.id, email: to });
  });
});
