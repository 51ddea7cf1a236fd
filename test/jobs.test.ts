import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { LEASE_MS } from "../src/events/outbox.repository";
import { PUBLISH_JOB_DELAY_SECONDS } from "../src/events/publisher";
import worker from "../src/index";
import { BUSY_RETRY_SECONDS, roundsLeft } from "../src/jobs/background";
import { runCron, SUBREQUEST_LIMIT } from "../src/jobs/cron";
import { withFields } from "../src/lib/log";
import {
  caller,
  DAY,
  fetchWith,
  freezeClock,
  meteredD1,
  overrideD1,
  restoreAfterEach,
  seedPending,
  storedEvents,
} from "./helpers";
import { drain, jobsQueue, outboxWith, recordingQueues, runJobsBatch } from "./queues";

/*
 * Writes ask for the outbox's publication (a "publish" job, one per isolate while one waits, and
 * nothing a request waits on but its own send), and the jobs consumer does it: in invocations
 * bounded by the subrequest limit, each sending the next job while work is left, going on with a
 * sweep the cron could not finish. How a publishing round works: test/publishing.test.ts.
 */

restoreAfterEach();

const bearer = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/json" });

describe("a write asks for publication", () => {
  it("with one publish job per isolate while one waits, and no D1 query on the outbox; the job then publishes the events and their email jobs", async () => {
    const admin = await caller();
    await drain();
    freezeClock();
    const jobs = jobsQueue();
    let outboxQueries = 0;
    const counting = overrideD1(env.DB, {
      withSession: (target, constraint) =>
        overrideD1(target.withSession(constraint), {
          prepare: (session, query) => {
            if (/"(invitation_events|leases)"/.test(query)) outboxQueries += 1;
            return session.prepare(query);
          },
        }),
    });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetchWith({ DB: counting, INVITATION_JOBS: jobs.queue }, "/api/v1/invitations", {
          method: "POST",
          headers: bearer(admin.token),
          body: JSON.stringify({ email: `burst-${i}@example.com` }),
        }),
      ),
    );
    expect(responses.map((res) => res.status)).toEqual(Array(20).fill(201));
    expect({ outboxQueries, jobs: jobs.sent, delays: jobs.delays }).toEqual({
      outboxQueries: 0,
      jobs: [{ kind: "publish" }],
      delays: [PUBLISH_JOB_DELAY_SECONDS],
    });

    const { queues, sent, emailJobs } = recordingQueues();
    const next = jobsQueue();
    const result = await runJobsBatch(jobs.sent, {
      INVITATION_EVENTS: queues.events,
      INVITATION_EMAILS: queues.emails,
      INVITATION_JOBS: next.queue,
    });
    expect(result.ackAll).toBe(true);
    const stored = await storedEvents(admin.org);
    expect(stored).toHaveLength(20);
    expect(stored.every((event) => event.published)).toBe(true);
    expect(sent.map((body) => body.id)).toEqual(stored.map((event) => event.id));
    expect(emailJobs).toEqual(
      stored.map((event) => ({ kind: "invitation-email", invitationId: event.invitation_id, send: 0 })),
    );
    expect(next.sent).toEqual([]);
  });

  it("once its job's delay has passed, the next write asks again", async () => {
    const admin = await caller();
    const at = freezeClock();
    const jobs = jobsQueue();
    const create = (email: string) =>
      fetchWith({ INVITATION_JOBS: jobs.queue }, "/api/v1/invitations", {
        method: "POST",
        headers: bearer(admin.token),
        body: JSON.stringify({ email }),
      });
    expect((await create("first@example.com")).status).toBe(201);
    vi.setSystemTime(at + PUBLISH_JOB_DELAY_SECONDS * 1000);
    expect((await create("second@example.com")).status).toBe(201);
    expect(jobs.sent).toEqual([{ kind: "publish" }, { kind: "publish" }]);
  });

  it("never waits for another request: a write answers and finishes while another's job send hangs", async () => {
    const admin = await caller();
    freezeClock();
    let sends = 0;
    const hanging = {
      send: () => {
        sends += 1;
        // As a send the platform cancelled leaves it: never settled.
        return new Promise<void>(() => {});
      },
    } as unknown as Queue;
    const create = (email: string) =>
      new Request("http://localhost/api/v1/invitations", {
        method: "POST",
        headers: bearer(admin.token),
        body: JSON.stringify({ email }),
      });
    // The first write's work after its response never ends; nothing waits for it here.
    const first = await worker.fetch(
      create("a@example.com"),
      { ...env, INVITATION_JOBS: hanging },
      createExecutionContext(),
    );
    expect(first.status).toBe(201);
    // A second write in the same isolate answers, and its own work after the response (which
    // fetchWith waits for) ends: it joined nothing of the first's.
    const second = await fetchWith({ INVITATION_JOBS: hanging }, "/api/v1/invitations", {
      method: "POST",
      headers: bearer(admin.token),
      body: JSON.stringify({ email: "b@example.com" }),
    });
    expect(second.status).toBe(201);
    expect(sends).toBe(1);
  });

  it("a refused job is logged without personal data, and the next write asks again", async () => {
    const admin = await caller();
    freezeClock();
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const down = jobsQueue({ fail: true });
    const up = jobsQueue();
    const create = (queue: Queue, email: string) =>
      fetchWith({ INVITATION_JOBS: queue }, "/api/v1/invitations", {
        method: "POST",
        headers: bearer(admin.token),
        body: JSON.stringify({ email }),
      });
    expect((await create(down.queue, "outage@example.com")).status).toBe(201);
    expect((await create(up.queue, "after@example.com")).status).toBe(201);
    expect(up.sent).toEqual([{ kind: "publish" }]);
    const lines = warnings.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: "Requesting the outbox's publication failed; the cron will publish it",
      }),
    );
    expect(JSON.stringify(lines)).not.toContain("outage@example.com");
  });

  it("sends nothing for a request that changed nothing: a read, a dry run, a replayed answer, a refusal", async () => {
    const admin = await caller();
    const key = crypto.randomUUID();
    const send = (jobs: Queue, path: string, init: RequestInit = {}) =>
      fetchWith({ INVITATION_JOBS: jobs }, path, {
        ...init,
        headers: { ...bearer(admin.token), ...init.headers },
      });
    const created = await send(jobsQueue().queue, "/api/v1/invitations", {
      method: "POST",
      headers: { "Idempotency-Key": key },
      body: JSON.stringify({ email: "once@example.com" }),
    });
    expect(created.status).toBe(201);

    const jobs = jobsQueue();
    const answers = [
      await send(jobs.queue, "/api/v1/invitations"),
      await send(jobs.queue, "/api/v1/invitations/bulk", {
        method: "POST",
        body: JSON.stringify({ dryRun: true, invitations: [{ email: "maybe@example.com" }] }),
      }),
      await send(jobs.queue, "/api/v1/invitations", {
        method: "POST",
        headers: { "Idempotency-Key": key },
        body: JSON.stringify({ email: "once@example.com" }),
      }),
      await send(jobs.queue, "/api/v1/invitations", {
        method: "POST",
        body: JSON.stringify({ email: "once@example.com" }),
      }),
    ];
    expect(answers.map((res) => res.status)).toEqual([200, 200, 201, 409]);
    expect(answers[2]?.headers.get("Idempotent-Replayed")).toBe("true");
    expect(jobs.sent).toEqual([]);
  });
});

describe("the jobs consumer", () => {
  it("keeps going: a backlog larger than one invocation is published by a chain of jobs, each within the subrequest limit", async () => {
    const admin = await outboxWith(2_500, "QUEUED");
    const { queues, sent, batches, emailBatches } = recordingQueues();
    let job: unknown[] = [{ kind: "publish" }];
    const invocations: { calls: number; sends: number; next: unknown[] }[] = [];
    while (job.length > 0 && invocations.length < 10) {
      const { db, stats } = meteredD1();
      const next = jobsQueue();
      const sendsBefore = batches.length + emailBatches.length;
      await runJobsBatch(job, {
        DB: db,
        INVITATION_EVENTS: queues.events,
        INVITATION_EMAILS: queues.emails,
        INVITATION_JOBS: next.queue,
      });
      const sends = batches.length + emailBatches.length - sendsBefore + next.sent.length;
      invocations.push({ calls: stats.calls, sends, next: next.sent });
      job = next.sent;
    }
    // 12 rounds of 100 per invocation (4 subrequests each, and one for the next job): 1,200, 1,200, 100.
    expect(roundsLeft(0)).toBe(12);
    expect(invocations.map((run) => run.next)).toEqual([[{ kind: "publish" }], [{ kind: "publish" }], []]);
    for (const run of invocations) expect(run.calls + run.sends).toBeLessThanOrEqual(SUBREQUEST_LIMIT);
    const ours = sent.filter((body) => body.organizationId === admin.org);
    expect(new Set(ours.map((body) => body.id)).size).toBe(2_500);
    expect((await storedEvents(admin.org)).every((event) => event.published)).toBe(true);
  });

  it("goes on with a sweep a cron run left, until every due invitation is expired and its event published", async () => {
    const admin = await caller();
    await drain();
    vi.spyOn(console, "log").mockImplementation(() => {});
    const now = Date.now();
    await seedPending(admin.org, 40, now - 2 * DAY, now - DAY);
    const { queues, sent } = recordingQueues();
    const handOff = jobsQueue();
    // Batches of one: the cron's 15 statements leave 25 due invitations.
    await runCron(createDb(env.DB), { ...queues, jobs: handOff.queue }, now, withFields({ cron: "test" }), {
      batchSize: 1,
    });
    expect(handOff.sent).toEqual([{ kind: "sweep", cutoff: now }]);

    const next = jobsQueue();
    await runJobsBatch(handOff.sent, {
      INVITATION_EVENTS: queues.events,
      INVITATION_EMAILS: queues.emails,
      INVITATION_JOBS: next.queue,
    });
    expect(next.sent).toEqual([]);
    const events = await storedEvents(admin.org);
    expect(events.filter((event) => event.type === "invitation.expired")).toHaveLength(40);
    expect(events.every((event) => event.published)).toBe(true);
    const ours = sent.filter((body) => body.organizationId === admin.org);
    expect(ours.filter((body) => body.type === "invitation.expired")).toHaveLength(40);
  });

  it("waits and asks again when another publisher (the cron) holds the lease", async () => {
    await outboxWith(3);
    await env.DB.prepare(
      "UPDATE leases SET holder = 'the-cron', held_until = ? WHERE name = 'invitation_events'",
    )
      .bind(Date.now() + LEASE_MS)
      .run();
    const { queues, sent } = recordingQueues();
    const next = jobsQueue();
    await runJobsBatch([{ kind: "publish" }], {
      INVITATION_EVENTS: queues.events,
      INVITATION_EMAILS: queues.emails,
      INVITATION_JOBS: next.queue,
    });
    expect({ sent, next: next.sent, delays: next.delays }).toEqual({
      sent: [],
      next: [{ kind: "publish" }],
      delays: [BUSY_RETRY_SECONDS],
    });
    await env.DB.prepare("UPDATE leases SET held_until = 0 WHERE name = 'invitation_events'").run();
  });

  it("drops a message that is not a job, logs it, and still runs the others", async () => {
    const admin = await outboxWith(2);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { queues, sent } = recordingQueues();
    const result = await runJobsBatch([{ kind: "sweep" }, { kind: "publish" }], {
      INVITATION_EVENTS: queues.events,
      INVITATION_EMAILS: queues.emails,
      INVITATION_JOBS: jobsQueue().queue,
    });
    expect(result.ackAll).toBe(true);
    expect(sent.filter((body) => body.organizationId === admin.org)).toHaveLength(2);
    expect(JSON.parse(String(errors.mock.calls[0]?.[0]))).toMatchObject({
      message: "A background job that is not one was dropped",
    });
  });
});
