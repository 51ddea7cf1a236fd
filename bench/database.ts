/**
 * The bench's local D1 database (under .wrangler/bench): what it holds, seeded with SQL after
 * Wrangler's migrations, and the cron sweep of an expired backlog measured on it.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { localD1 } from "../scripts/wrangler-dev.ts";

export const STATE = ".wrangler/bench";
export const CONFIG = "bench/wrangler.toml";
const d1 = localD1(STATE, CONFIG);
const DAY = 86_400_000;

/** Organizations by role in the benchmark; ids shaped `<tag>-0000-4000-8000-<n>`. */
export const ORG = {
  small: "a0000001-0000-4000-8000-000000000000",
  medium: "a0000002-0000-4000-8000-000000000000",
  large: "a0000003-0000-4000-8000-000000000000",
  revoke: "a0000004-0000-4000-8000-000000000000",
  create: "a0000005-0000-4000-8000-000000000000",
  rawCreate: "a0000006-0000-4000-8000-000000000000",
  sweep10k: "a0000007-0000-4000-8000-000000000000",
  sweep100k: "a0000008-0000-4000-8000-000000000000",
  /** Where the peer (Better Auth) invites, as ORG.create is where the app creates. */
  peerCreate: "a000000a-0000-4000-8000-000000000000",
};

/** The peer's (Better Auth's) bench user and its session token (bearer plugin). */
export const PEER_SESSION_TOKEN = "bench-peer-session-token";
export const SIZES = { small: 1_000, medium: 10_000, large: 100_000 };
/** Pending invitations of ORG.revoke, revoked one per request in the revoke scenario. */
export const REVOKE_POOL = 80_000;
/** Invitations of other organizations, around the measured ones. */
const NOISE_ORGS = 200;
const NOISE_EACH = 50;

/** `count` invitations in one INSERT ... SELECT over n = 1..count; each column an SQL expression of n. */
function insertInvitations(
  count: number,
  column: { id: string; org: string; email: string; role: string; createdAt: string; expiresAt: number },
): string {
  return `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${count})
INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at, accepted_at)
SELECT ${column.id}, ${column.org}, ${column.email}, ${column.role}, 'PENDING', 'seeder', ${column.createdAt}, ${column.createdAt}, ${column.expiresAt}, NULL
FROM seq;`;
}

/** `count` pending invitations for `org`, in all three roles, expiring `expiresIn` ms from now. */
export function seedSql(org: string, count: number, expiresIn = 7 * DAY): string {
  const now = Date.now();
  return insertInvitations(count, {
    id: `'${org.slice(0, 24)}' || printf('%012d', n)`, // "a000000N-0000-4000-8000-"
    org: `'${org}'`,
    email: `'user' || n || '@${org.slice(0, 8)}.example.com'`,
    role: "CASE n % 3 WHEN 0 THEN 'ORG_ADMIN' WHEN 1 THEN 'OPERATOR' ELSE 'VIEWER' END",
    createdAt: `${now - 30 * DAY} + n * 1000`,
    expiresAt: now + expiresIn,
  });
}

/** Invitations of 200 other organizations, around the measured ones. */
export function noiseSql(): string {
  const now = Date.now();
  return insertInvitations(NOISE_ORGS * NOISE_EACH, {
    id: "'b0000000-0000-4000-8000-' || printf('%012d', n)",
    org: `'c0000000-0000-4000-8000-' || printf('%012d', n % ${NOISE_ORGS})`,
    email: "'noise' || n || '@example.com'",
    role: "'VIEWER'",
    createdAt: `${now} - n * 1000`,
    expiresAt: now + 7 * DAY,
  });
}

async function runSqlFile(name: string, sql: string, state = STATE, db = d1) {
  const file = `${state}/${name}.sql`;
  writeFileSync(file, sql);
  await db.executeFile(file);
}

/** A fresh local database in `state` (Wrangler configuration CONFIG): migrated, then seeded with `sql`. */
export async function freshDatabase(state: string, sql: string[]) {
  const db = localD1(state, CONFIG);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  await db.migrate();
  await runSqlFile("seed", sql.join("\n"), state, db);
}

/**
 * The peer's tables (bench/peer/schema.ts) and its seed: the bench user, owner of the 1k and 100k
 * organizations (the same invitations, as Better Auth stores them) and of the one it invites into.
 */
export function peerSql(): string {
  const now = Date.now();
  const orgs = [ORG.small, ORG.large, ORG.peerCreate];
  return `CREATE TABLE user (id text PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE, email_verified integer NOT NULL, image text, created_at integer NOT NULL, updated_at integer NOT NULL);
CREATE TABLE session (id text PRIMARY KEY, expires_at integer NOT NULL, token text NOT NULL UNIQUE, created_at integer NOT NULL, updated_at integer NOT NULL, ip_address text, user_agent text, user_id text NOT NULL REFERENCES user(id) ON DELETE CASCADE, active_organization_id text);
CREATE INDEX session_user_id_idx ON session (user_id);
CREATE TABLE account (id text PRIMARY KEY, account_id text NOT NULL, provider_id text NOT NULL, user_id text NOT NULL REFERENCES user(id) ON DELETE CASCADE, access_token text, refresh_token text, id_token text, access_token_expires_at integer, refresh_token_expires_at integer, scope text, password text, created_at integer NOT NULL, updated_at integer NOT NULL);
CREATE INDEX account_user_id_idx ON account (user_id);
CREATE TABLE verification (id text PRIMARY KEY, identifier text NOT NULL, value text NOT NULL, expires_at integer NOT NULL, created_at integer NOT NULL, updated_at integer NOT NULL);
CREATE INDEX verification_identifier_idx ON verification (identifier);
CREATE TABLE organization (id text PRIMARY KEY, name text NOT NULL, slug text NOT NULL UNIQUE, logo text, created_at integer NOT NULL, metadata text);
CREATE TABLE member (id text PRIMARY KEY, organization_id text NOT NULL REFERENCES organization(id) ON DELETE CASCADE, user_id text NOT NULL REFERENCES user(id) ON DELETE CASCADE, role text NOT NULL, created_at integer NOT NULL);
CREATE INDEX member_organization_id_idx ON member (organization_id);
CREATE INDEX member_user_id_idx ON member (user_id);
CREATE TABLE invitation (id text PRIMARY KEY, organization_id text NOT NULL REFERENCES organization(id) ON DELETE CASCADE, email text NOT NULL, role text, status text NOT NULL, expires_at integer NOT NULL, created_at integer NOT NULL, inviter_id text NOT NULL REFERENCES user(id) ON DELETE CASCADE);
CREATE INDEX invitation_organization_id_idx ON invitation (organization_id);
CREATE INDEX invitation_email_idx ON invitation (email);
INSERT INTO user VALUES ('bench-user', 'Bench', 'bench@example.com', 1, NULL, ${now}, ${now});
INSERT INTO session VALUES ('bench-session', ${now + 7 * DAY}, '${PEER_SESSION_TOKEN}', ${now}, ${now}, NULL, NULL, 'bench-user', NULL);
${orgs
  .map(
    (org, i) => `INSERT INTO organization VALUES ('${org}', 'Org ${i}', 'org-${i}', NULL, ${now}, NULL);
INSERT INTO member VALUES ('member-${i}', '${org}', 'bench-user', 'owner', ${now});`,
  )
  .join("\n")}
INSERT INTO invitation (id, organization_id, email, role, status, expires_at, created_at, inviter_id)
SELECT id, organization_id, email, CASE role WHEN 'ORG_ADMIN' THEN 'admin' ELSE 'member' END, 'pending', expires_at, created_at, 'bench-user'
FROM invitations WHERE organization_id IN ('${ORG.small}', '${ORG.large}');`;
}

/** A fresh database: migrated, then seeded with the organizations the scenarios measure. */
export async function prepareDatabase() {
  await freshDatabase(STATE, [
    seedSql(ORG.small, SIZES.small),
    seedSql(ORG.medium, SIZES.medium),
    seedSql(ORG.large, SIZES.large),
    seedSql(ORG.revoke, REVOKE_POOL),
    noiseSql(),
    peerSql(),
  ]);
}

export type SweepResult = {
  backlog: number;
  runs: number;
  expired: number;
  leftPending: number;
  statements: number;
  maxStatementsPerRun: number;
  rowsRead: number;
  rowsWritten: number;
  wallMs: number;
  slowestRunMs: number;
};

/** What the bench Worker's /__bench/sweep reports of one cron run, timed here. */
type SweepRun = {
  expired: number;
  batches: number;
  complete: boolean;
  rowsRead: number;
  rowsWritten: number;
  wallMs: number;
};

/** A backlog of `size` expired invitations for `org`, swept by cron runs until it is drained. */
export async function sweepBacklog(
  base: string,
  label: string,
  org: string,
  size: number,
): Promise<SweepResult> {
  process.stderr.write(`  sweep ${label} ...`);
  await runSqlFile(`backlog-${label}`, seedSql(org, size, -DAY));
  const runs: SweepRun[] = [];
  for (let run = 0; run < 20; run++) {
    // Timed here: inside a Worker the clock only moves on I/O, so it cannot time its own CPU.
    const started = performance.now();
    const res = await fetch(`${base}/__bench/sweep?now=${Date.now()}`, { method: "POST" });
    if (!res.ok) throw new Error(`sweep answered ${res.status}: ${await res.text()}`);
    const result = (await res.json()) as SweepRun;
    runs.push({ ...result, wallMs: performance.now() - started });
    if (result.complete) break;
  }
  const totalMs = runs.reduce((n, r) => n + r.wallMs, 0);
  const sum = (key: "expired" | "batches" | "rowsRead" | "rowsWritten") =>
    runs.reduce((n, r) => n + r[key], 0);
  const [left] = await d1.query(
    `SELECT count(*) AS n FROM invitations WHERE organization_id = '${org}' AND status = 'PENDING'`,
  );
  process.stderr.write(` ${runs.length} run(s), ${Math.round(totalMs)} ms\n`);
  return {
    backlog: size,
    runs: runs.length,
    expired: sum("expired"),
    leftPending: Number(left?.[0]?.n),
    statements: sum("batches"),
    maxStatementsPerRun: Math.max(...runs.map((r) => r.batches)),
    rowsRead: sum("rowsRead"),
    rowsWritten: sum("rowsWritten"),
    wallMs: Math.round(totalMs),
    slowestRunMs: Math.round(Math.max(...runs.map((r) => r.wallMs))),
  };
}
