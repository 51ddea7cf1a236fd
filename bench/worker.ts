/**
 * The benchmark Worker. Three things side by side, in one process, on one D1 database:
 *
 * - the application itself (`/api/v1/...`, `/__bench/sweep`), untouched under load; a request
 *   sent with `x-bench-measure` runs with env.DB counting (src/lib/d1-cost.ts) and reports the D1
 *   statements it ran and the rows they read and wrote (`x-bench-rows-read`, ...); the
 *   application's own queue consumer, handed a batch by `/__bench/queue` (its cost line is in the
 *   log), after `/__bench/outbox/skip` counted what the outbox held as published;
 * - the same, with `x-bench-no-rate-limit`, on limiters that always allow: what the rate limit
 *   check costs (locally a Durable Object call per request; deployed, a local cache);
 * - the runtime's ceiling: `/__bench/constant`, a constant JSON body and nothing else;
 * - the data layer's ceiling: `/__bench/raw/...`, the application's SQL through `prepare` on a D1
 *   session (as the app reads), with no routing, validation, auth, ORM or mapping.
 *
 * Only `npm run bench` runs it (bench/wrangler.toml); it is never deployed.
 */
import { createDb } from "../src/db/client";
import app from "../src/index";
import { expireInvitations } from "../src/jobs/expire-invitations";
import { countD1, noCost } from "../src/lib/d1-cost";
import { PEER_BASE_PATH } from "./peer/base-path";
import { peerFetch } from "./peer/peer";

type Stats = { statements: number; rowsRead: number; rowsWritten: number };

/** Sent by the harness's untimed sampling requests: report this request's D1 costs. */
const MEASURE_HEADER = "x-bench-measure";
/** Sent by the "rate limiter off" scenarios: the app with limiters that always allow. */
const NO_RATE_LIMIT_HEADER = "x-bench-no-rate-limit";

const allow: RateLimit = { limit: async () => ({ success: true }) };
const withoutLimiters = new WeakMap<Env, Env>();

/** One env per isolate with the limiters replaced, so per-env caches behave as with the real one. */
function envWithoutLimiters(env: Env): Env {
  let replaced = withoutLimiters.get(env);
  if (!replaced) {
    replaced = { ...env, RATE_LIMIT_READS: allow, RATE_LIMIT_WRITES: allow };
    withoutLimiters.set(env, replaced);
  }
  return replaced;
}

function withStats(res: Response, stats: Stats): Response {
  const out = new Response(res.body, res);
  out.headers.set("x-bench-statements", String(stats.statements));
  out.headers.set("x-bench-rows-read", String(stats.rowsRead));
  out.headers.set("x-bench-rows-written", String(stats.rowsWritten));
  return out;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** The application's SQL, as its repository issues it (kept in step by hand). */
const SQL = {
  page: `SELECT id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at, accepted_at,
                accepted_by, revoked_at, revoked_by, token_hash, resend_count, last_sent_at
         FROM invitations WHERE organization_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
  total: "SELECT total FROM organization_invitation_counts WHERE organization_id = ?",
  expireStale: `UPDATE invitations SET status = 'EXPIRED', updated_at = ?
                WHERE organization_id = ? AND email = ? AND status = 'PENDING' AND expires_at <= ?`,
  skipOutbox:
    "UPDATE leases SET position = (SELECT coalesce(max(seq), 0) FROM invitation_events) WHERE name = 'invitation_events'",
  insert: `INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at, token_hash, last_sent_at)
           VALUES (?, ?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?) RETURNING *`,
};

async function rawList(env: Env, url: URL): Promise<Response> {
  const org = url.searchParams.get("org") ?? "";
  const page = Number(url.searchParams.get("page") ?? 1);
  const limit = Number(url.searchParams.get("limit") ?? 20);
  const db = env.DB.withSession("first-unconstrained");
  const [rows, totals] = await db.batch<Record<string, unknown>>([
    db.prepare(SQL.page).bind(org, limit, (page - 1) * limit),
    db.prepare(SQL.total).bind(org),
  ]);
  const total = Number(totals?.results[0]?.total ?? 0);
  const res = json({
    data: rows?.results ?? [],
    meta: { limit, page, total, totalPages: Math.ceil(total / limit) },
  });
  return withStats(res, {
    statements: 2,
    rowsRead: (rows?.meta.rows_read ?? 0) + (totals?.meta.rows_read ?? 0),
    rowsWritten: 0,
  });
}

async function rawCreate(env: Env, request: Request): Promise<Response> {
  const { org, email } = await request.json<{ org: string; email: string }>();
  const now = Date.now();
  const db = env.DB.withSession("first-unconstrained");
  const results = await db.batch<Record<string, unknown>>([
    db.prepare(SQL.expireStale).bind(now, org, email, now),
    db
      .prepare(SQL.insert)
      // A unique stand-in for the link's digest: the SQL is the app's, the token's crypto is not.
      .bind(
        crypto.randomUUID(),
        org,
        email,
        "VIEWER",
        "bench",
        now,
        now,
        now + 604_800_000,
        crypto.randomUUID(),
        now,
      ),
  ]);
  const stats: Stats = { statements: results.length, rowsRead: 0, rowsWritten: 0 };
  for (const { meta } of results) {
    stats.rowsRead += meta.rows_read;
    stats.rowsWritten += meta.rows_written;
  }
  return withStats(json(results.at(-1)?.results[0], 201), stats);
}

/** A batch of `bodies` from the queue `queue`, each message on its first attempt, acks ignored. */
function messageBatch(queue: string, bodies: unknown[]): MessageBatch<unknown> {
  const none = () => {};
  return {
    queue,
    messages: bodies.map((body, i) => ({
      id: `bench-${i}`,
      timestamp: new Date(),
      body,
      attempts: 1,
      ack: none,
      retry: none,
    })),
    ackAll: none,
    retryAll: none,
    metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } },
  };
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/constant") return json({ ok: true });
    if (url.pathname.startsWith(`${PEER_BASE_PATH}/`)) {
      if (!request.headers.has(MEASURE_HEADER)) return peerFetch(request, env.DB);
      const cost = noCost();
      const res = await peerFetch(request, countD1(env.DB, cost));
      return withStats(res, { ...cost, statements: cost.queries });
    }
    if (url.pathname === "/__bench/raw/list") return rawList(env, url);
    if (url.pathname === "/__bench/raw/create" && request.method === "POST") return rawCreate(env, request);

    if (url.pathname === "/__bench/outbox/skip" && request.method === "POST") {
      // What is in the outbox now counts as published: the next publishing run sees only what
      // comes after (the operation whose cost is measured).
      await env.DB.prepare(SQL.skipOutbox).run();
      return json({ ok: true });
    }
    if (url.pathname === "/__bench/queue" && request.method === "POST") {
      // A batch for the app's own queue consumer, as a queue would deliver it; it logs its cost
      // line with `queue` set to the name given here.
      const { queue, bodies } = await request.json<{ queue: string; bodies: unknown[] }>();
      await app.queue(messageBatch(queue, bodies), env);
      return json({ ok: true });
    }
    if (url.pathname === "/__bench/sweep" && request.method === "POST") {
      // One cron run, as the scheduled handler makes it; the sweep reports its own D1 costs.
      const now = Number(url.searchParams.get("now") ?? Date.now());
      return json(await expireInvitations(createDb(env.DB), now));
    }
    // Timed load gets exactly the production path: the same env object on every request, so the
    // app's per-isolate caches (configuration, HMAC key) behave as deployed. Only the untimed
    // sampling requests that ask for it pay for the D1 wrapper (and a fresh env object).
    if (request.headers.has(NO_RATE_LIMIT_HEADER)) return app.fetch(request, envWithoutLimiters(env), ctx);
    if (!request.headers.has(MEASURE_HEADER)) return app.fetch(request, env, ctx);
    const cost = noCost();
    const res = await app.fetch(request, { ...env, DB: countD1(env.DB, cost) }, ctx);
    return withStats(res, { ...cost, statements: cost.queries });
  },
} satisfies ExportedHandler<Env>;
