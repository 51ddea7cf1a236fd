import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import type { InvitationEvent } from "../src/events/events";
import { CLAIM_MS, pruneOutbox, RETENTION_MS, SET_ASIDE_MS } from "../src/events/outbox.repository";
import { MAX_RUN_ROUNDS, publishPending, publishSoon } from "../src/events/publisher";
import { log } from "../src/lib/log";
import {
  type Caller,
  caller,
  fetchWith,
  freezeClock,
  type Invitation,
  type InvitationWithLink,
  inviteeToken,
  overrideD1,
  recordingQueue,
  restoreAfterEach,
  runSweep,
  seedPending,
  storedEvents,
  storedRows,
} from "./helpers";

const DAY = 86_400_000;

restoreAfterEach();

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * A fresh organization whose `count` invitations' created events are the only ones waiting in
 * the outbox: everything else the file left there is published first.
 */
async function outboxWith(count: number) {
  const admin = await caller();
  const db = createDb(env.DB);
  await publishPending(db, recordingQueue().queue, log, { maxRounds: 100 });
  await seedPending(admin.org, count, Date.now(), Date.now() + DAY);
  return { admin, db };
}

/** Creates an invitation through the Worker's entry, with the outbox publishing to `queue`. */
async function create(admin: Caller, email: string, queue: Queue): Promise<InvitationWithLink> {
  const res = await fetchWith({ INVITATION_EVENTS: queue }, "/api/v1/invitations", {
    method: "POST",
    headers: { ...bearer(admin.token), "Content-Type": "application/json" },
    body: JSON.stringify({ email }),
  });
  expect(res.status).toBe(201);
  return res.json();
}

function withoutLink({ token: _token, inviteUrl: _url, ...invitation }: InvitationWithLink): Invitation {
  return invitation;
}

describe("the outbox", () => {
  it("records invitation.created with the invitation as the API shows it, and publishes it once the response is sent", async () => {
    const admin = await caller();
    const { queue, sent } = recordingQueue();
    const created = await create(admin, "new@example.com", queue);

    const [event, ...more] = await storedEvents(admin.org);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      type: "invitation.created",
      organization_id: admin.org,
      invitation_id: created.id,
      occurred_at: Date.parse(created.createdAt),
      claimed_until: null,
    });
    expect(event?.published_at).toEqual(expect.any(Number));

    const published = sent.filter((body) => body.organizationId === admin.org);
    expect(published).toEqual([
      {
        id: event?.id,
        type: "invitation.created",
        occurredAt: created.createdAt,
        organizationId: admin.org,
        invitation: withoutLink(created),
      },
    ]);
    expect(published[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("never carries the link: neither the token nor its stored digest is in the outbox or on the queue", async () => {
    const admin = await caller();
    const { queue, sent } = recordingQueue();
    const created = await create(admin, "secret@example.com", queue);
    const [row] = await storedRows(admin.org);

    const stored = JSON.stringify(await storedEvents(admin.org));
    const published = JSON.stringify(sent);
    for (const secret of [created.token, row?.token_hash ?? "missing"]) {
      expect(stored).not.toContain(secret);
      expect(published).not.toContain(secret);
    }
    expect(stored).not.toContain("token");
  });

  it("records one event per change, in order: created, resent, revoked; accepted; expired from the sweep", async () => {
    const admin = await caller();
    const { queue, sent } = recordingQueue();
    const revoked = await create(admin, "revoke-me@example.com", queue);
    const accepted = await create(admin, "accept-me@example.com", queue);
    const expiring = await create(admin, "expire-me@example.com", queue);

    const resend = await fetchWith(
      { INVITATION_EVENTS: queue, RESEND_COOLDOWN_SECONDS: "0" },
      `/api/v1/invitations/${revoked.id}/resend`,
      { method: "POST", headers: bearer(admin.token) },
    );
    expect(resend.status).toBe(200);
    const revoke = await fetchWith({ INVITATION_EVENTS: queue }, `/api/v1/invitations/${revoked.id}`, {
      method: "DELETE",
      headers: bearer(admin.token),
    });
    expect(revoke.status).toBe(200);
    const accept = await fetchWith({ INVITATION_EVENTS: queue }, "/api/v1/invitations/accept", {
      method: "POST",
      headers: { ...bearer(await inviteeToken(accepted.email)), "Content-Type": "application/json" },
      body: JSON.stringify({ token: accepted.token }),
    });
    expect(accept.status).toBe(200);
    // The sweep's events are published by the same cron run.
    const sweptAt = Date.parse(expiring.expiresAt) + 1000;
    await runSweep(sweptAt, { INVITATION_EVENTS: queue });

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
    expect(events.every((event) => event.published_at !== null)).toBe(true);

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
    expect(resent).toMatchObject({ resendCount: 1, status: "PENDING", revokedAt: null });
    expect(published[4]?.invitation).toMatchObject({ resendCount: 1, revokedBy: admin.sub });
    expect(published[5]?.invitation).toMatchObject({ acceptedBy: "user_invitee" });
  });

  it("records invitation.expired when a new invitation to the same email stores a past-due one's expiry", async () => {
    freezeClock();
    const admin = await caller();
    const { queue } = recordingQueue();
    const old = await create(admin, "again@example.com", queue);
    vi.setSystemTime(Date.parse(old.expiresAt) + DAY);
    const later = await caller("ORG_ADMIN", admin.org, admin.sub);
    const fresh = await create(later, "again@example.com", queue);

    const events = await storedEvents(admin.org);
    expect(events.map((event) => [event.type, event.invitation_id, event.occurred_at])).toEqual([
      ["invitation.created", old.id, Date.parse(old.createdAt)],
      ["invitation.expired", old.id, Date.parse(fresh.createdAt)],
      ["invitation.created", fresh.id, Date.parse(fresh.createdAt)],
    ]);
  });

  it("records nothing for a refused change: a 409 create, a 400 revoke", async () => {
    const admin = await caller();
    const { queue } = recordingQueue();
    const first = await create(admin, "taken@example.com", queue);
    const before = await storedEvents(admin.org);

    // Through fetchWith, which waits for what the Worker does after responding, as every request
    // in this file does: no publisher is left running into the next test.
    const conflict = await fetchWith({ INVITATION_EVENTS: queue }, "/api/v1/invitations", {
      method: "POST",
      headers: { ...bearer(admin.token), "Content-Type": "application/json" },
      body: JSON.stringify({ email: "TAKEN@example.com" }),
    });
    expect(conflict.status).toBe(409);
    const revoke = () =>
      fetchWith({ INVITATION_EVENTS: queue }, `/api/v1/invitations/${first.id}`, {
        method: "DELETE",
        headers: bearer(admin.token),
      });
    expect((await revoke()).status).toBe(200);
    expect((await revoke()).status).toBe(400);

    const after = await storedEvents(admin.org);
    expect(after.map((event) => event.type)).toEqual([
      ...before.map((event) => event.type),
      "invitation.revoked",
    ]);
  });
});

describe("publishing", () => {
  it("a queue that refuses leaves the response alone and the events in the outbox, and the cron publishes them", async () => {
    const admin = await caller();
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const down = recordingQueue({ fail: true });
    const created = await create(admin, "outage@example.com", down.queue);
    expect(created.status).toBe("PENDING");

    const [held] = await storedEvents(admin.org);
    expect(held).toMatchObject({ type: "invitation.created", published_at: null, claimed_until: null });
    const lines = warnings.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: "Publishing invitation events failed; they stay in the outbox",
      }),
    );
    expect(JSON.stringify(lines)).not.toContain("outage@example.com");

    vi.spyOn(console, "log").mockImplementation(() => {});
    const up = recordingQueue();
    await runSweep(Date.now(), { INVITATION_EVENTS: up.queue });
    expect(up.sent.filter((body) => body.organizationId === admin.org).map((body) => body.id)).toEqual([
      held?.id,
    ]);
    expect((await storedEvents(admin.org))[0]?.published_at).toEqual(expect.any(Number));
  });

  it("concurrent writes in one isolate share a publishing run: every event sent once, with a few claims instead of one per request", async () => {
    const admin = await caller();
    const { queue, sent } = recordingQueue();
    // The publisher works on env.DB itself (requests use sessions): count its claims.
    let claims = 0;
    const counting = overrideD1(env.DB, {
      prepare: (target, query) => {
        if (query.startsWith('update "invitation_events" set "claimed_until"')) claims += 1;
        return target.prepare(query);
      },
    });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetchWith({ DB: counting, INVITATION_EVENTS: queue }, "/api/v1/invitations", {
          method: "POST",
          headers: { ...bearer(admin.token), "Content-Type": "application/json" },
          body: JSON.stringify({ email: `burst-${i}@example.com` }),
        }),
      ),
    );
    expect(responses.every((res) => res.status === 201)).toBe(true);
    const stored = await storedEvents(admin.org);
    expect(stored).toHaveLength(20);
    expect(stored.every((event) => event.published_at !== null)).toBe(true);
    const ours = sent.filter((body) => body.organizationId === admin.org).map((body) => body.id);
    expect(ours.sort()).toEqual(stored.map((event) => event.id).sort());
    // One claim per round, each carrying many requests' events; every request on its own would
    // have made 20 claims at least.
    expect(claims).toBeGreaterThan(0);
    expect(claims).toBeLessThanOrEqual(5);
  });

  it("costs a request that changed nothing no outbox query: a read, a dry run, a replayed answer, a refusal", async () => {
    const admin = await caller();
    const { queue } = recordingQueue();
    let outboxQueries = 0;
    const counting = overrideD1(env.DB, {
      prepare: (target, query) => {
        if (query.includes('"invitation_events"')) outboxQueries += 1;
        return target.prepare(query);
      },
    });
    const send = (path: string, init: RequestInit = {}) =>
      fetchWith({ DB: counting, INVITATION_EVENTS: queue }, path, {
        ...init,
        headers: { ...bearer(admin.token), "Content-Type": "application/json", ...init.headers },
      });
    const key = crypto.randomUUID();
    const created = await send("/api/v1/invitations", {
      method: "POST",
      headers: { "Idempotency-Key": key },
      body: JSON.stringify({ email: "once@example.com" }),
    });
    expect(created.status).toBe(201);
    // The change itself is published: the claim, and the marking of what was sent.
    expect(outboxQueries).toBeGreaterThan(0);

    outboxQueries = 0;
    const answers = [
      await send("/api/v1/invitations"),
      await send("/api/v1/invitations/bulk", {
        method: "POST",
        body: JSON.stringify({ dryRun: true, invitations: [{ email: "maybe@example.com" }] }),
      }),
      await send("/api/v1/invitations", {
        method: "POST",
        headers: { "Idempotency-Key": key },
        body: JSON.stringify({ email: "once@example.com" }),
      }),
      await send("/api/v1/invitations", {
        method: "POST",
        body: JSON.stringify({ email: "once@example.com" }),
      }),
    ];
    expect(answers.map((res) => res.status)).toEqual([200, 200, 201, 409]);
    expect(answers[2]?.headers.get("Idempotent-Replayed")).toBe("true");
    expect(outboxQueries).toBe(0);
  });

  it("two publishers running at once send every event exactly once, in outbox order", async () => {
    // 250 events waiting: more than one round of 100 for each publisher.
    const { admin, db } = await outboxWith(250);

    const a = recordingQueue();
    const b = recordingQueue();
    const [ra, rb] = await Promise.all([
      publishPending(db, a.queue, log, { maxRounds: 10 }),
      publishPending(db, b.queue, log, { maxRounds: 10 }),
    ]);
    expect(ra.complete && rb.complete).toBe(true);
    expect(ra.published + rb.published).toBe(250);

    const ids = [...a.sent, ...b.sent].map((body) => body.id);
    expect(new Set(ids).size).toBe(250);
    const stored = await storedEvents(admin.org);
    expect(new Set(ids)).toEqual(new Set(stored.map((event) => event.id)));
    expect(stored.every((event) => event.published_at !== null && event.claimed_until === null)).toBe(true);
    // Each publisher's messages in outbox order.
    const seqOf = new Map(stored.map((event) => [event.id, event.seq]));
    for (const sent of [a.sent, b.sent]) {
      const seqs = sent.map((body) => seqOf.get(body.id) ?? 0);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  });

  it("an event claimed by a publisher that stopped is sent again once the claim has lapsed", async () => {
    const { admin, db } = await outboxWith(1);
    const [event] = await storedEvents(admin.org);
    // Claimed just now by a publisher that never marked it published.
    await env.DB.prepare("UPDATE invitation_events SET claimed_until = ? WHERE seq = ?")
      .bind(Date.now() + CLAIM_MS, event?.seq)
      .run();

    const meanwhile = recordingQueue();
    expect(await publishPending(db, meanwhile.queue, log)).toEqual({
      published: 0,
      complete: true,
      failed: false,
    });
    expect(meanwhile.sent).toEqual([]);

    freezeClock(Date.now() + CLAIM_MS);
    const later = recordingQueue();
    expect(await publishPending(db, later.queue, log)).toEqual({
      published: 1,
      complete: true,
      failed: false,
    });
    expect(later.sent.map((body) => body.id)).toEqual([event?.id]);
  });

  it("a run stops after a refused send instead of retrying it for every write that joins it", async () => {
    const { admin, db } = await outboxWith(3);
    vi.spyOn(console, "warn").mockImplementation(() => {});
    let attempts = 0;
    const down = {
      sendBatch: async () => {
        attempts += 1;
        throw new Error("queue unavailable");
      },
    } as unknown as Queue<InvitationEvent>;
    await Promise.all(Array.from({ length: 5 }, () => publishSoon(db, down, log)));
    expect(attempts).toBe(1);
    expect((await storedEvents(admin.org)).every((event) => event.published_at === null)).toBe(true);
  });

  it("a run is bounded: at most MAX_RUN_ROUNDS rounds of 100, the rest left for the next write or the cron", async () => {
    const { admin, db } = await outboxWith(MAX_RUN_ROUNDS * 100 + 50);
    const { queue, batches } = recordingQueue();
    await publishSoon(db, queue, log);
    expect(batches).toEqual(Array(MAX_RUN_ROUNDS).fill(100));
    const left = (await storedEvents(admin.org)).filter((event) => event.published_at === null);
    expect(left).toHaveLength(50);
  });

  it("a run the platform cancelled (it never settles) does not stop publishing: once stale, the next write starts anew", async () => {
    const { admin, db } = await outboxWith(2);
    const good = recordingQueue();
    let calls = 0;
    const queue = {
      sendBatch: (messages: Iterable<MessageSendRequest>) => {
        calls += 1;
        // The first send hangs forever, as a cancelled waitUntil leaves it.
        return calls === 1 ? new Promise<void>(() => {}) : good.queue.sendBatch(messages);
      },
    } as unknown as Queue<InvitationEvent>;
    void publishSoon(db, queue, log);
    await vi.waitFor(() => expect(calls).toBe(1));

    freezeClock();
    // Past the hung run's hold on its rows and past the point where a run counts as stale.
    vi.setSystemTime(Date.now() + CLAIM_MS);
    await publishSoon(db, queue, log);
    expect(calls).toBe(2);
    expect(good.sent.filter((body) => body.organizationId === admin.org)).toHaveLength(2);
  });

  it("sets aside a row that is not a valid event, logs it, and publishes the rows behind it", async () => {
    const { admin, db } = await outboxWith(3);
    const [broken] = await storedEvents(admin.org);
    // A time no Date can hold, as a hand-edited row might have.
    await env.DB.prepare("UPDATE invitation_events SET occurred_at = 9e18 WHERE seq = ?")
      .bind(broken?.seq)
      .run();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { queue, sent } = recordingQueue();
    expect(await publishPending(db, queue, log)).toMatchObject({ published: 2, failed: false });
    expect(sent.filter((body) => body.organizationId === admin.org)).toHaveLength(2);
    const after = await storedEvents(admin.org);
    expect(after[0]).toMatchObject({ seq: broken?.seq, published_at: null });
    expect(after[0]?.claimed_until).toBeGreaterThan(Date.now() + SET_ASIDE_MS - 60_000);
    expect(JSON.parse(String(errors.mock.calls[0]?.[0]))).toMatchObject({
      level: "error",
      message: "Outbox rows that are not valid events were set aside for a day",
      seqs: [broken?.seq],
    });
  });

  it("the cron deletes published events after the retention period, and never an unpublished one", async () => {
    const admin = await caller();
    const db = createDb(env.DB);
    await seedPending(admin.org, 3, Date.now(), Date.now() + DAY);
    const [old, recent, unpublished] = await storedEvents(admin.org);
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("UPDATE invitation_events SET published_at = ? WHERE seq = ?").bind(
        now - RETENTION_MS - 1,
        old?.seq,
      ),
      env.DB.prepare("UPDATE invitation_events SET published_at = ? WHERE seq = ?").bind(
        now - RETENTION_MS + 60_000,
        recent?.seq,
      ),
      env.DB.prepare(
        "UPDATE invitation_events SET published_at = NULL, claimed_until = ? WHERE seq = ?",
      ).bind(now + CLAIM_MS, unpublished?.seq),
    ]);
    expect(await pruneOutbox(db, now)).toBeGreaterThanOrEqual(1);
    expect((await storedEvents(admin.org)).map((event) => event.seq)).toEqual([
      recent?.seq,
      unpublished?.seq,
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
  // One case per trigger of migration 0005, each driven by the request that fires it.
  const triggers: [string, string, (admin: Caller, id: string) => Promise<Response>][] = [
    ["invitations_event_after_insert", "invitation.created", async () => new Response(null)],
    [
      "invitations_event_after_resend",
      "invitation.resent",
      (admin, id) =>
        fetchWith(
          { INVITATION_EVENTS: recordingQueue().queue, RESEND_COOLDOWN_SECONDS: "0" },
          `/api/v1/invitations/${id}/resend`,
          { method: "POST", headers: bearer(admin.token) },
        ),
    ],
    [
      "invitations_event_after_status_change",
      "invitation.revoked",
      (admin, id) =>
        fetchWith({ INVITATION_EVENTS: recordingQueue().queue }, `/api/v1/invitations/${id}`, {
          method: "DELETE",
          headers: bearer(admin.token),
        }),
    ],
  ];
  for (const [trigger, type, change] of triggers) {
    it(`${trigger}: its keys are the table's columns but token_hash, its values the row's`, async () => {
      const admin = await caller();
      const invitation = await create(admin, `${type}@example.com`, recordingQueue().queue);
      expect((await change(admin, invitation.id)).ok).toBe(true);

      const event = (await storedEvents(admin.org)).findLast((stored) => stored.type === type);
      const columns = (await invitationColumns()).filter((column) => column !== "token_hash");
      const expectedKeys = Object.keys(
        asSnapshot(Object.fromEntries(columns.map((column) => [column, null]))),
      );
      expect(Object.keys(event?.invitation ?? {}).sort()).toEqual(expectedKeys.sort());
      const row = await env.DB.prepare("SELECT * FROM invitations WHERE id = ?").bind(invitation.id).first();
      expect(event?.invitation).toEqual(asSnapshot(row ?? {}));
    });
  }

  it("sets aside a snapshot that drifted from what events are made of, and publishes the rows behind it", async () => {
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
    const { admin, db } = await outboxWith(drifts.length + 1);
    const stored = await storedEvents(admin.org);
    const drifted = stored.slice(0, drifts.length).map((event) => event.seq);
    await env.DB.batch(drifts.map((statement, i) => env.DB.prepare(statement).bind(drifted[i])));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});

    const { queue, sent } = recordingQueue();
    expect(await publishPending(db, queue, log)).toEqual({ published: 1, complete: true, failed: false });
    expect(sent.filter((body) => body.organizationId === admin.org).map((body) => body.id)).toEqual([
      stored.at(-1)?.id,
    ]);
    const after = await storedEvents(admin.org);
    for (const event of after.slice(0, drifts.length)) {
      expect(event.published_at).toBeNull();
      expect(event.claimed_until).toBeGreaterThan(Date.now() + SET_ASIDE_MS - 60_000);
    }
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])))).toEqual([
      expect.objectContaining({
        level: "error",
        message: "Outbox rows that are not valid events were set aside for a day",
        seqs: drifted,
      }),
    ]);
  });
});
