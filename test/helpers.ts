import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, expect, vi } from "vitest";
import type { Role } from "../src/db/schema";
import worker from "../src/index";
import { hashInvitationToken } from "../src/invitations/invitation-token";

export const BASE = "http://localhost";

export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;

/** Epoch milliseconds as the API writes times. */
export const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Fakes `Date`, and only `Date` (timers stay real, so the Worker's I/O runs on), standing still
 * at `at`, or at the current time. Returns the frozen time. `restoreAfterEach` undoes it.
 */
export function freezeClock(at?: number): number {
  vi.useFakeTimers({ toFake: ["Date"] });
  if (at !== undefined) vi.setSystemTime(at);
  return Date.now();
}

/**
 * Registers, for every test of the file that calls it, the undoing of what a test may have faked:
 * the clock (`freezeClock`) and spies (`vi.spyOn` on console, fetch...).
 */
export function restoreAfterEach(): void {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}

/** Bytes as base64url without padding, as JWTs write them. */
export function base64Url(bytes: ArrayBuffer | Uint8Array): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

/** A value as a JWT header or payload: its JSON (UTF-8) in base64url. */
export const base64UrlJson = (value: unknown) => base64Url(new TextEncoder().encode(JSON.stringify(value)));

/** A fresh key pair an identity provider could sign tokens with: RS256 (RSA 2048) or ES256 (P-256). */
export async function signingKeyPair(alg: "RS256" | "ES256"): Promise<CryptoKeyPair> {
  const params =
    alg === "RS256"
      ? {
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        }
      : { name: "ECDSA", namedCurve: "P-256" };
  return (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** A fresh organization per test: isolation between tests and a multi-tenancy check at once. */
export function newOrgId(): string {
  return crypto.randomUUID();
}

export type TokenOptions = {
  role?: Role;
  org?: string;
  sub?: string;
  /** Seconds from now; default one hour. */
  expiresIn?: number;
  /** Extra or overriding claims; `undefined` removes a claim. */
  claims?: Record<string, unknown>;
  secret?: string;
};

/** Signs an HS256 token as a real client would, with the Worker's secret unless told otherwise. */
export async function signToken(options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: options.sub ?? "user_admin",
    org_id: options.org ?? newOrgId(),
    role: options.role ?? "ORG_ADMIN",
    iat: now,
    exp: now + (options.expiresIn ?? 3600),
    ...options.claims,
  };
  for (const [key, value] of Object.entries(payload)) if (value === undefined) delete payload[key];
  return sign(payload, options.secret ?? env.JWT_SECRET, "HS256");
}

/** A caller of one organization with one role. */
export type Caller = { org: string; sub: string; role: Role; token: string };

export async function caller(role: Role = "ORG_ADMIN", org = newOrgId(), sub = `user_${role.toLowerCase()}`) {
  return { org, sub, role, token: await signToken({ role, org, sub }) } satisfies Caller;
}

/** Freezes the clock at `at` and returns `who` with a token valid then. */
export function callerAt(at: number, who: Caller): Promise<Caller> {
  freezeClock(at);
  return caller(who.role, who.org, who.sub);
}

type RequestOptions = {
  method?: string;
  token?: string;
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown;
  headers?: Record<string, string>;
  body?: BodyInit;
};

/** A request through the Worker's real entry point. */
export function api(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  let body = options.body;
  if (options.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(options.json);
  }
  return exports.default.fetch(`${BASE}${path}`, { method: options.method ?? "GET", headers, body });
}

/** A request through the Worker's entry with a modified environment (configuration, faults). */
export async function fetchWith(overrides: Partial<Env>, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/**
 * The real D1 binding (or session) with `batch` and/or `withSession` replaced: for injecting
 * faults and recording what the Worker asks of the database. Everything else passes through.
 */
export function overrideD1<T extends D1Database | D1DatabaseSession>(
  db: T,
  overrides: {
    prepare?: (target: T, sql: string) => D1PreparedStatement;
    batch?: (target: T, statements: D1PreparedStatement[]) => Promise<D1Result[]>;
    withSession?: (target: D1Database, constraint?: string) => D1DatabaseSession;
  },
): T {
  return new Proxy(db, {
    get(target, property) {
      const { prepare, batch, withSession } = overrides;
      if (property === "prepare" && prepare) return (sql: string) => prepare(target, sql);
      if (property === "batch" && batch)
        return (statements: D1PreparedStatement[]) => batch(target, statements);
      if (property === "withSession" && withSession) {
        return (constraint?: string) => withSession(target as D1Database, constraint);
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Requests `path` as `who` through the Worker's entry, and counts the rows D1 reports reading for
 * it (`meta.rows_read` of every batch on the request's session: D1's billing unit).
 */
export async function fetchCountingRowsRead(who: { token: string }, path: string) {
  let rowsRead = 0;
  const counting = overrideD1(env.DB, {
    withSession: (target, constraint) =>
      overrideD1(target.withSession(constraint), {
        batch: async (session, statements) => {
          const results = await session.batch(statements);
          for (const { meta } of results) rowsRead += meta.rows_read;
          return results;
        },
      }),
  });
  const res = await fetchWith({ DB: counting }, path, { headers: { Authorization: `Bearer ${who.token}` } });
  return { res, rowsRead };
}

/** Every stored invitation, across organizations: for "a refused request stores nothing". */
export async function countAllRows(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM invitations").first<{ n: number }>();
  return row?.n ?? 0;
}

export type Invitation = {
  id: string;
  organizationId: string;
  email: string;
  role: Role;
  status: string;
  invitedBy: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  acceptedBy: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  declinedAt: string | null;
  declinedBy: string | null;
  resendCount: number;
  lastSentAt: string;
  delivery: {
    status: "QUEUED" | "SENT" | "FAILED" | "SKIPPED";
    attempts: number;
    lastAttemptAt: string | null;
    sentAt: string | null;
    lastError: string | null;
  };
  publicMetadata: Record<string, unknown>;
  privateMetadata: Record<string, unknown>;
  redirectUrl: string | null;
};

/** A send's delivery before its first attempt: QUEUED, or SKIPPED with `sendEmail: false`. */
export function freshDelivery(status: "QUEUED" | "SKIPPED" = "QUEUED"): Invitation["delivery"] {
  return { status, attempts: 0, lastAttemptAt: null, sentAt: null, lastError: null };
}

/** Create and resend return the invitation with its link, which nothing else ever shows. */
export type InvitationWithLink = Invitation & { token: string; inviteUrl: string };

export type ListBody = {
  data: Invitation[];
  meta: { limit: number; page: number | null; total: number; totalPages: number; nextCursor: string | null };
};

/** A link's secret, as create and resend return it. */
const LINK_SECRET = /^[A-Za-z0-9_-]{43}$/;

/** What a create answers at `at` with the default lifetime (7 days): a new PENDING invitation and its link. */
export function createdInvitation(
  at: number,
  fields: Pick<Invitation, "organizationId" | "email" | "role" | "invitedBy">,
  inviteUrl: unknown,
) {
  return {
    id: expect.any(String),
    ...fields,
    status: "PENDING",
    createdAt: iso(at),
    updatedAt: iso(at),
    expiresAt: iso(at + 7 * DAY),
    acceptedAt: null,
    acceptedBy: null,
    revokedAt: null,
    revokedBy: null,
    declinedAt: null,
    declinedBy: null,
    resendCount: 0,
    lastSentAt: iso(at),
    delivery: freshDelivery(),
    publicMetadata: {},
    privateMetadata: {},
    redirectUrl: null,
    token: expect.stringMatching(LINK_SECRET),
    inviteUrl,
  };
}

/** The row that create stores for `created` at `at` (default lifetime), its link kept only as a digest. */
export async function createdRow(at: number, created: InvitationWithLink): Promise<StoredRow> {
  return {
    id: created.id,
    email: created.email,
    role: created.role,
    status: "PENDING",
    invited_by: created.invitedBy,
    created_at: at,
    updated_at: at,
    expires_at: at + 7 * DAY,
    accepted_at: null,
    accepted_by: null,
    revoked_at: null,
    revoked_by: null,
    token_hash: await hashInvitationToken(created.token),
    resend_count: 0,
    last_sent_at: at,
  };
}

/** What a resend of `invitation` (7 days' lifetime, never resent) answers at `at`: a new link, sent now. */
export function resentInvitation(at: number, invitation: Invitation, inviteUrl: unknown) {
  return {
    ...invitation,
    updatedAt: iso(at),
    expiresAt: iso(at + 7 * DAY),
    resendCount: 1,
    lastSentAt: iso(at),
    delivery: freshDelivery(),
    token: expect.stringMatching(LINK_SECRET),
    inviteUrl,
  };
}

/** The organization's rows `before` (its one invitation) as that resend at `at` leaves them. */
export async function resentRows(at: number, before: StoredRow[], resent: InvitationWithLink) {
  const tokenHash = await hashInvitationToken(resent.token);
  return before.map((row) => ({
    ...row,
    token_hash: tokenHash,
    resend_count: 1,
    last_sent_at: at,
    updated_at: at,
    expires_at: at + 7 * DAY,
  }));
}

/** Creates an invitation through the API and returns it with its link; fails the test unless it is 201. */
export async function createWithLink(
  who: Caller,
  email: string,
  body: { role?: Role; expiresInDays?: number } = {},
): Promise<InvitationWithLink> {
  const res = await api("/api/v1/invitations", {
    method: "POST",
    token: who.token,
    json: { email, ...body },
  });
  expect(res.status).toBe(201);
  return res.json();
}

/** Creates an invitation through the API and returns it as a list or a get shows it. */
export async function createInvitation(who: Caller, email: string, role?: Role): Promise<Invitation> {
  const { token, inviteUrl, ...invitation } = await createWithLink(who, email, role ? { role } : {});
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(inviteUrl).toBe(`${env.INVITE_URL_BASE}?token=${token}`);
  return invitation;
}

export async function list(who: Caller, query = ""): Promise<ListBody> {
  const res = await api(`/api/v1/invitations${query}`, { token: who.token });
  expect(res.status).toBe(200);
  return res.json();
}

/** A signed-in user with an email and no organization, as an invitee's identity provider issues. */
export function inviteeToken(email = "invitee@example.com", claims: Record<string, unknown> = {}) {
  return signToken({ sub: "user_invitee", claims: { email, org_id: undefined, role: undefined, ...claims } });
}

/** Accepts, as the invitee `email`, the invitation whose link carries `token`; fails the test unless 200. */
export async function acceptAs(email: string, token: string): Promise<Invitation> {
  const res = await api("/api/v1/invitations/accept", {
    method: "POST",
    token: await inviteeToken(email),
    json: { token },
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** The whole error envelope a response must carry. */
export async function expectError(
  res: Response,
  status: number,
  code: string,
  error: string,
  message: string,
  details: Record<string, string[]> = {},
): Promise<void> {
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect({ status: res.status, body: await res.json() }).toEqual({
    status,
    body: { code, details, error, message, statusCode: status },
  });
}

/** Runs the Worker's `scheduled` handler as the cron trigger would, at `scheduledTime`. */
export async function runSweep(scheduledTime: number, overrides: Partial<Env> = {}): Promise<void> {
  await worker.scheduled(createScheduledController({ scheduledTime, cron: "*/15 * * * *" }), {
    ...env,
    ...overrides,
  });
}

/** A stored invitation row, as `storedRows` reads it. */
export type StoredRow = Awaited<ReturnType<typeof storedRows>>[number];

/** Reads stored rows directly, bypassing the API: what is really in the database. */
export async function storedRows(org: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, email, role, status, invited_by, created_at, updated_at, expires_at, accepted_at, accepted_by, revoked_at, revoked_by, token_hash, resend_count, last_sent_at FROM invitations WHERE organization_id = ? ORDER BY created_at, id",
  )
    .bind(org)
    .all<{
      id: string;
      email: string;
      role: string;
      status: string;
      invited_by: string;
      created_at: number;
      updated_at: number;
      expires_at: number;
      accepted_at: number | null;
      accepted_by: string | null;
      revoked_at: number | null;
      revoked_by: string | null;
      token_hash: string | null;
      resend_count: number;
      last_sent_at: number | null;
    }>();
  return results;
}

/** SQL for a random UUID v4, for rows seeded by SQL. */
export const RANDOM_UUID_SQL = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`;

/**
 * Seeds `count` PENDING invitations in one SQL statement (a recursive CTE), all created at
 * `createdAt` and due at `expiresAt`: fast enough for backlogs of thousands. Emails are unique
 * per call (`seed-<random>-<n>@example.com`). Their email is SKIPPED (nothing sends it) unless
 * `delivery` says QUEUED.
 */
export async function seedPending(
  org: string,
  count: number,
  createdAt: number,
  expiresAt: number,
  delivery: "SKIPPED" | "QUEUED" = "SKIPPED",
) {
  const prefix = `seed-${crypto.randomUUID().slice(0, 8)}-`;
  await env.DB.prepare(
    `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
     INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at, accepted_at, delivery_status)
     SELECT ${RANDOM_UUID_SQL},
            ?2, ?5 || n || '@example.com', 'VIEWER', 'PENDING', 'seeder', ?3, ?3, ?4, NULL, ?6
     FROM seq`,
  )
    .bind(count, org, createdAt, expiresAt, prefix, delivery)
    .run();
}

/** What `faultyD1` saw: the SQL of every statement prepared, in order, and which one it broke. */
export type FaultLog = { statements: string[]; injected: string | undefined };

/**
 * The real D1 binding (and its sessions) with one chosen statement broken inside D1: the
 * `failAt`-th statement prepared (0-based) is replaced by one that fails when D1 executes it
 * (a missing table). In a batch, D1 has by then run the statements before it, so this tests
 * D1's rollback, not a throw before anything reached the database. Without `failAt` it only
 * records the statements, to learn what an operation issues.
 */
export function faultyD1(failAt?: number): { db: D1Database; log: FaultLog } {
  const log: FaultLog = { statements: [], injected: undefined };
  const prepare = (target: D1Database | D1DatabaseSession, sql: string) => {
    const index = log.statements.push(sql) - 1;
    if (index !== failAt) return target.prepare(sql);
    log.injected = sql;
    return target.prepare("SELECT * FROM fault_injected_no_such_table");
  };
  const db = overrideD1(env.DB, {
    prepare,
    withSession: (target, constraint) => overrideD1(target.withSession(constraint), { prepare }),
  });
  return { db, log };
}

/** The tables a request writes, whole and in key order: for "a refused request changed nothing". */
export async function databaseSnapshot() {
  const [invitations, counts, statusCounts, inviterCounts, events, keys] = await env.DB.batch([
    env.DB.prepare("SELECT * FROM invitations ORDER BY id"),
    env.DB.prepare("SELECT * FROM organization_invitation_counts ORDER BY organization_id"),
    env.DB.prepare("SELECT * FROM invitation_counts ORDER BY organization_id, status, role"),
    env.DB.prepare(
      "SELECT * FROM inviter_invitation_counts ORDER BY organization_id, invited_by, status, role",
    ),
    env.DB.prepare("SELECT * FROM invitation_events ORDER BY seq"),
    env.DB.prepare("SELECT * FROM idempotency_keys ORDER BY organization_id, key_hash"),
  ]);
  return {
    invitations: invitations?.results ?? [],
    counts: counts?.results ?? [],
    statusCounts: statusCounts?.results ?? [],
    inviterCounts: inviterCounts?.results ?? [],
    events: events?.results ?? [],
    idempotencyKeys: keys?.results ?? [],
  };
}

/** An outbox row as stored, with its invitation snapshot parsed, and whether it is published. */
export type StoredEvent = {
  seq: number;
  id: string;
  type: string;
  organization_id: string;
  invitation_id: string;
  occurred_at: number;
  invitation: Record<string, unknown>;
  /** At or before the publisher's position: sent to the queue. */
  published: boolean;
};

/** The organization's lifecycle events in the outbox, oldest first. */
export async function storedEvents(org: string): Promise<StoredEvent[]> {
  const { results } = await env.DB.prepare(
    `SELECT *, seq <= (SELECT position FROM leases WHERE name = 'invitation_events') AS published
     FROM invitation_events WHERE organization_id = ? ORDER BY seq`,
  )
    .bind(org)
    .all<Omit<StoredEvent, "invitation" | "published"> & { invitation: string; published: number }>();
  return results.map((row) => ({
    ...row,
    invitation: JSON.parse(row.invitation),
    published: row.published === 1,
  }));
}

/**
 * The real D1 binding, metered: `calls` counts the subrequests the Worker makes of it (a batch is
 * one, as D1 bills it), `rowsRead` and `rowsWritten` add up D1's own `meta` (its billing units)
 * over every statement. Drizzle reads some results with `raw()`, which has no meta: those are run
 * with `all()` here and handed back as rows of values.
 */
export function meteredD1() {
  const stats = { calls: 0, rowsRead: 0, rowsWritten: 0 };
  const add = (meta: D1Meta) => {
    stats.rowsRead += meta.rows_read;
    stats.rowsWritten += meta.rows_written;
  };
  const metered = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property) {
        if (property === "bind") return (...values: unknown[]) => metered(target.bind(...values));
        if (property === "all" || property === "run" || property === "raw" || property === "first") {
          return async (...args: unknown[]) => {
            stats.calls += 1;
            const result = await target.all();
            add(result.meta);
            if (property === "raw") return result.results.map((row) => Object.values(row as object));
            if (property === "first") {
              const first = result.results[0] as Record<string, unknown> | undefined;
              return typeof args[0] === "string" ? (first?.[args[0]] ?? null) : (first ?? null);
            }
            return result;
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = overrideD1(env.DB, {
    prepare: (target, sql) => metered(target.prepare(sql)),
    batch: async (target, statements) => {
      stats.calls += 1;
      const results = await target.batch(statements);
      for (const { meta } of results) add(meta);
      return results;
    },
  });
  return { db, stats };
}
