import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { publishPending } from "../src/events/publisher";
import { log } from "../src/lib/log";
import {
  type Caller,
  caller,
  createWithLink,
  fetchWith,
  freezeClock,
  freshDelivery,
  type Invitation,
  type InvitationWithLink,
  inviteeToken,
  restoreAfterEach,
  runSweep,
  seedPending,
  storedEvents,
  storedRows,
} from "./helpers";
import { recordingQueues } from "./queues";

/*
 * The outbox: one event per change of an invitation, written by the triggers with the change
 * itself, as the API shows the invitation, never with its link. How events are published is
 * test/publishing.test.ts.
 */

const DAY = 86_400_000;

restoreAfterEach();

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Publishes everything waiting in the outbox to recording queues, as the jobs consumer would. */
async function publishAll() {
  const recorded = recordingQueues();
  await publishPending(createDb(env.DB), recorded.queues, log, { maxRounds: 1000 });
  return recorded;
}

function withoutLink({ token: _token, inviteUrl: _url, ...invitation }: InvitationWithLink): Invitation {
  return invitation;
}

describe("the outbox", () => {
  it("records invitation.created with the invitation as the API shows it, and publishes it as it is", async () => {
    const admin = await caller();
    await publishAll();
    const created = await createWithLink(admin, "new@example.com");

    const [event, ...more] = await storedEvents(admin.org);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      type: "invitation.created",
      organization_id: admin.org,
      invitation_id: created.id,
      occurred_at: Date.parse(created.createdAt),
      published: false,
    });

    const { sent } = await publishAll();
    const published = sent.filter((body) => body.organizationId === admin.org);
    expect(published).toEqual([
      {
        id: event?.id,
        type: "invitation.created",
        occurredAt: created.createdAt,
        organizationId: admin.org,
        invitation: { ...withoutLink(created), delivery: freshDelivery("QUEUED") },
      },
    ]);
    expect(published[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect((await storedEvents(admin.org))[0]?.published).toBe(true);
  });

  it("never carries the link: neither the token nor its stored digest is in the outbox or on the queue", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "secret@example.com");
    const [row] = await storedRows(admin.org);

    const stored = JSON.stringify(await storedEvents(admin.org));
    const { sent, emailJobs } = await publishAll();
    const published = JSON.stringify([sent, emailJobs]);
    for (const secret of [created.token, row?.token_hash ?? "missing"]) {
      expect(stored).not.toContain(secret);
      expect(published).not.toContain(secret);
    }
    expect(stored).not.toContain("token");
  });

  it("records one event per change, in order: created, resent, revoked; accepted; expired from the sweep", async () => {
    const admin = await caller();
    await publishAll();
    const revoked = await createWithLink(admin, "revoke-me@example.com");
    const accepted = await createWithLink(admin, "accept-me@example.com");
    const expiring = await createWithLink(admin, "expire-me@example.com");

    const resend = await fetchWith(
      { RESEND_COOLDOWN_SECONDS: "0" },
      `/api/v1/invitations/${revoked.id}/resend`,
      {
        method: "POST",
        headers: bearer(admin.token),
      },
    );
    expect(resend.status).toBe(200);
    const revoke = await fetchWith({}, `/api/v1/invitations/${revoked.id}`, {
      method: "DELETE",
      headers: bearer(admin.token),
    });
    expect(revoke.status).toBe(200);
    const accept = await fetchWith({}, "/api/v1/invitations/accept", {
      method: "POST",
      headers: { ...bearer(await inviteeToken(accepted.email)), "Content-Type": "application/json" },
      body: JSON.stringify({ token: accepted.token }),
    });
    expect(accept.status).toBe(200);
    // The sweep's events are published by the same cron run, with every one before them.
    const { queues, sent } = recordingQueues();
    const sweptAt = Date.parse(expiring.expiresAt) + 1000;
    vi.spyOn(console, "log").mockImplementation(() => {});
    await runSweep(sweptAt, { INVITATION_EVENTS: queues.events, INVITATION_EMAILS: queues.emails });

    const events = await storedEvents(admin.org);
    expect(events.map((event) => [event.type, event.invitation_id])).toEqual([
      ["invitation.created", revoked.id],
      ["invitation.created", accepted.id],
      ["invitation.created", expiring.id],
      ["invitation.resent", revoked.id],
      ["invitation.revoked", revoked.id],
      ["invitation.accepted", accepted.id],
      ["invitation.expired", expiring.id],
    ]);
    expect(events.every((event) => event.published)).toBe(true);

    const rows = await storedRows(admin.org);
    const byId = (id: string) => rows.find((row) => row.id === id);
    const published = sent.filter((body) => body.organizationId === admin.org);
    expect(
      published.map((body) => [body.type, body.occurredAt, (body.invitation as Invitation).status]),
    ).toEqual([
      ["invitation.created", revoked.createdAt, "PENDING"],
      ["invitation.created", accepted.createdAt, "PENDING"],
      ["invitation.created", expiring.createdAt, "PENDING"],
      ["invitation.resent", new Date(byId(revoked.id)?.last_sent_at ?? 0).toISOString(), "PENDING"],
      ["invitation.revoked", new Date(byId(revoked.id)?.revoked_at ?? 0).toISOString(), "REVOKED"],
      ["invitation.accepted", new Date(byId(accepted.id)?.accepted_at ?? 0).toISOString(), "ACCEPTED"],
      ["invitation.expired", new Date(sweptAt).toISOString(), "EXPIRED"],
    ]);
    // Each event shows the invitation as that change left it.
    const resent = published[3]?.invitation as Invitation;
    expect(resent).toMatchObject({
      resendCount: 1,
      status: "PENDING",
      revokedAt: null,
      delivery: freshDelivery(),
    });
    expect(published[4]?.invitation).toMatchObject({ resendCount: 1, revokedBy: admin.sub });
    expect(published[5]?.invitation).toMatchObject({ acceptedBy: "user_invitee" });
  });

  it("records invitation.expired when a new invitation to the same email stores a past-due one's expiry", async () => {
    freezeClock();
    const admin = await caller();
    const old = await createWithLink(admin, "again@example.com");
    vi.setSystemTime(Date.parse(old.expiresAt) + DAY);
    const later = await caller("ORG_ADMIN", admin.org, admin.sub);
    const fresh = await createWithLink(later, "again@example.com");

    const events = await storedEvents(admin.org);
    expect(events.map((event) => [event.type, event.invitation_id, event.occurred_at])).toEqual([
      ["invitation.created", old.id, Date.parse(old.createdAt)],
      ["invitation.expired", old.id, Date.parse(fresh.createdAt)],
      ["invitation.created", fresh.id, Date.parse(fresh.createdAt)],
    ]);
  });

  it("records nothing for a refused change: a 409 create, a 400 revoke", async () => {
    const admin = await caller();
    const first = await createWithLink(admin, "taken@example.com");
    const before = await storedEvents(admin.org);

    const conflict = await fetchWith({}, "/api/v1/invitations", {
      method: "POST",
      headers: { ...bearer(admin.token), "Content-Type": "application/json" },
      body: JSON.stringify({ email: "TAKEN@example.com" }),
    });
    expect(conflict.status).toBe(409);
    const revoke = () =>
      fetchWith({}, `/api/v1/invitations/${first.id}`, { method: "DELETE", headers: bearer(admin.token) });
    expect((await revoke()).status).toBe(200);
    expect((await revoke()).status).toBe(400);

    const after = await storedEvents(admin.org);
    expect(after.map((event) => event.type)).toEqual([
      ...before.map((event) => event.type),
      "invitation.revoked",
    ]);
  });
});

/** The columns of `invitations` as the database has them: what the triggers must keep up with. */
async function invitationColumns(): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT name FROM pragma_table_info('invitations')").all<{
    name: string;
  }>();
  return results.map((column) => column.name);
}

/** A stored row as the outbox triggers must snapshot it: every column but `token_hash`, camelCased. */
function asSnapshot(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row)
      .filter(([column]) => column !== "token_hash")
      .map(([column, value]) => [
        column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()),
        value,
      ]),
  );
}

describe("the outbox triggers' snapshot", () => {
  // One case per event the two triggers of migration 0007 record, each driven as the app drives it.
  const changes: [string, string, (admin: Caller, id: string) => Promise<unknown>][] = [
    ["invitations_event_after_insert", "invitation.created", async () => undefined],
    [
      "invitations_event_after_update",
      "invitation.resent",
      async (admin, id) => {
        const res = await fetchWith({ RESEND_COOLDOWN_SECONDS: "0" }, `/api/v1/invitations/${id}/resend`, {
          method: "POST",
          headers: bearer(admin.token),
        });
        expect(res.status).toBe(200);
      },
    ],
    [
      "invitations_event_after_update",
      "invitation.revoked",
      async (admin, id) => {
        const res = await fetchWith({}, `/api/v1/invitations/${id}`, {
          method: "DELETE",
          headers: bearer(admin.token),
        });
        expect(res.status).toBe(200);
      },
    ],
    [
      "invitations_event_after_update",
      "invitation.delivery_failed",
      // As the email sender records a delivery it gives up (src/email/delivery.repository.ts).
      (_admin, id) =>
        env.DB.prepare(
          "UPDATE invitations SET delivery_status = 'FAILED', delivery_attempts = 5, delivery_last_attempt_at = ?, delivery_last_error = 'E_INTERNAL_SERVER_ERROR' WHERE id = ?",
        )
          .bind(Date.now() - 1000, id)
          .run(),
    ],
  ];
  for (const [trigger, type, change] of changes) {
    it(`${trigger}, ${type}: its keys are the table's columns but token_hash, its values the row's`, async () => {
      const admin = await caller();
      const invitation = await createWithLink(admin, `${type}@example.com`);
      await change(admin, invitation.id);

      const event = (await storedEvents(admin.org)).findLast((stored) => stored.type === type);
      const columns = (await invitationColumns()).filter((column) => column !== "token_hash");
      const expectedKeys = Object.keys(
        asSnapshot(Object.fromEntries(columns.map((column) => [column, null]))),
      );
      expect(Object.keys(event?.invitation ?? {}).sort()).toEqual(expectedKeys.sort());
      const row = await env.DB.prepare("SELECT * FROM invitations WHERE id = ?").bind(invitation.id).first();
      expect(event?.invitation).toEqual(asSnapshot(row ?? {}));
      // A delivery failure is dated by its last attempt; every other change by the row's updated_at.
      const when = type === "invitation.delivery_failed" ? row?.delivery_last_attempt_at : row?.updated_at;
      expect(event?.occurred_at).toBe(when);
    });
  }

  it("records no event for the email's own progress: a claim, a retry, a send", async () => {
    const admin = await caller();
    const invitation = await createWithLink(admin, "progress@example.com");
    await env.DB.batch([
      env.DB.prepare(
        "UPDATE invitations SET delivery_attempts = 1, delivery_last_attempt_at = ?, delivery_claimed_until = ? WHERE id = ?",
      ).bind(Date.now(), Date.now() + 60_000, invitation.id),
      env.DB.prepare(
        "UPDATE invitations SET delivery_claimed_until = NULL, delivery_last_error = 'E_RATE_LIMIT_EXCEEDED' WHERE id = ?",
      ).bind(invitation.id),
      env.DB.prepare(
        "UPDATE invitations SET delivery_status = 'SENT', delivery_sent_at = ?, delivery_last_error = NULL WHERE id = ?",
      ).bind(Date.now(), invitation.id),
    ]);
    expect((await storedEvents(admin.org)).map((event) => event.type)).toEqual(["invitation.created"]);
  });

  it("passes over a snapshot that drifted from what events are made of, logs it, and publishes the rows behind it", async () => {
    const drifts = [
      // A column the trigger no longer writes, one it writes under another name, one the event
      // does not know, a value of another type, a state that does not exist, an unknown type.
      "UPDATE invitation_events SET invitation = json_remove(invitation, '$.role') WHERE seq = ?",
      "UPDATE invitation_events SET invitation = json_set(json_remove(invitation, '$.lastSentAt'), '$.last_sent_at', 1) WHERE seq = ?",
      "UPDATE invitation_events SET invitation = json_set(invitation, '$.nickname', 'Ada') WHERE seq = ?",
      "UPDATE invitation_events SET invitation = json_set(invitation, '$.createdAt', '2026-01-01T00:00:00Z') WHERE seq = ?",
      "UPDATE invitation_events SET invitation = json_set(invitation, '$.status', 'ARCHIVED') WHERE seq = ?",
      "UPDATE invitation_events SET type = 'invitation.archived' WHERE seq = ?",
    ];
    const admin = await caller();
    await publishAll();
    await seedPending(admin.org, drifts.length + 1, Date.now(), Date.now() + DAY);
    const stored = await storedEvents(admin.org);
    const drifted = stored.slice(0, drifts.length).map((event) => event.seq);
    await env.DB.batch(drifts.map((statement, i) => env.DB.prepare(statement).bind(drifted[i])));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});

    const { queues, sent } = recordingQueues();
    expect(await publishPending(createDb(env.DB), queues, log)).toEqual({
      published: 1,
      complete: true,
      failed: false,
      busy: false,
    });
    expect(sent.filter((body) => body.organizationId === admin.org).map((body) => body.id)).toEqual([
      stored.at(-1)?.id,
    ]);
    // Kept in the outbox for an operator to read, and not sent again by later runs.
    expect((await storedEvents(admin.org)).map((event) => event.seq)).toEqual(
      stored.map((event) => event.seq),
    );
    expect((await publishAll()).sent).toEqual([]);
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])))).toEqual([
      expect.objectContaining({
        level: "error",
        message: "Outbox rows that are not valid events were passed over",
        seqs: drifted,
      }),
    ]);
  });
});
