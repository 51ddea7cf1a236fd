import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createDb } from "../src/db/client";
import { publishPending } from "../src/events/publisher";
import { log } from "../src/lib/log";
import { api, type Caller, type Invitation, newOrgId, signToken } from "./helpers";
import { recordingQueue } from "./queues";

/*
 * What the email tests share: an admin whose token carries names (or not), the outbox published
 * with its email jobs to the queue the Worker's email sender consumes, and waiting for what the
 * EMAIL binding's double received (test/email-double.js, through TEST_OUTBOX).
 */

/** An admin of a fresh organization, whose token carries `name` / `org_name` when given. */
export async function admin(names: { name?: unknown; org_name?: unknown } = {}): Promise<Caller> {
  const org = newOrgId();
  const sub = "user_admin";
  return { org, sub, role: "ORG_ADMIN", token: await signToken({ org, sub, claims: names }) };
}

/** A unique invitee address, so what the double received is this test's alone. */
export const invitee = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;

/**
 * Publishes what waits in the outbox, as the jobs consumer does, with the email jobs sent to the
 * queue the Worker consumes (the suite's INVITATION_EMAILS goes nowhere). Returns the events.
 */
export async function publishWithEmails() {
  const events = recordingQueue();
  await publishPending(createDb(env.DB), { events: events.queue, emails: env.TEST_CONSUMED_EMAILS }, log, {
    maxRounds: 100,
  });
  return events.sent;
}

/** Polls `probe` until `done` says yes (10 s at most). */
export async function until<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  for (let waited = 0; ; waited += 25) {
    const value = await probe();
    if (done(value)) return value;
    if (waited > 10_000) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What reached the EMAIL binding for `to`. */
export const sentTo = (to: string) => env.TEST_OUTBOX.sent(to);

/** Waits until `count` emails have reached the EMAIL binding for `to`, and returns them. */
export const emailsTo = (to: string, count: number) =>
  until(
    () => sentTo(to),
    (sent) => sent.length >= count,
    `${count} email(s) to ${to}`,
  );

/** The invitation as a get shows it. */
export async function read(who: Caller, id: string): Promise<Invitation> {
  const res = await api(`/api/v1/invitations/${id}`, { token: who.token });
  expect(res.status).toBe(200);
  return res.json();
}

/** Waits until the invitation's delivery is settled (no longer QUEUED) and returns the invitation. */
export function settled(who: Caller, id: string): Promise<Invitation> {
  return until(
    () => read(who, id),
    (invitation) => invitation.delivery.status !== "QUEUED",
    `the delivery of ${id} to settle`,
  );
}

/** Lets what this file sent to the local queues finish before its storage is torn down. */
export const settleQueues = () => new Promise((resolve) => setTimeout(resolve, 300));
