/**
 * `npm run soak`: the real app (src/index.ts under the main wrangler.toml) under mixed, racing
 * traffic for a bounded time, then the database checked against every answer it gave.
 *
 * 1. A fresh local D1 database in .wrangler/soak (removed and recreated), migrated by Wrangler.
 * 2. `wrangler dev` on 127.0.0.1:8798, loopback only, with its own JWT secret; it refuses to start
 *    if something already listens there. Its output goes to .wrangler/soak/wrangler-dev.log. The
 *    resend cooldown is 5 s instead of 60, so that resends happen within a minute's run.
 * 3. SOAK_CONNECTIONS request loops, each one request at a time, for SOAK_DURATION seconds, over
 *    20 organizations (8 admins and 2 operators each): creates from a small pool of addresses
 *    per organization (in mixed case), so duplicates race and get 409; lists with filters; gets;
 *    revokes and accepts of each organization's newest invitations, which other loops revoke,
 *    accept or resend at the same moment; resends; link previews. Some requests aim at another
 *    organization's invitation or accept with the wrong address. 429 RATE_LIMITED is a legitimate
 *    answer (per-user rate limits, the per-IP preview limit, the resend cooldown): counted apart.
 * 4. `wrangler dev` stopped, the invariants checked with SQL through `wrangler d1 execute`: at
 *    most one live PENDING per organization and email; every 201 stored as answered; every 200
 *    revoke stored REVOKED and every 200 accept ACCEPTED (by whom, and at most one per
 *    invitation); resend_count equal to the 200 resends; organization_invitation_counts exact;
 *    no 5xx and no request left unanswered; every error in the JSON envelope with statusCode equal
 *    to the HTTP status; responses consistent with their requests and never another
 *    organization's invitation.
 * 5. The figures (requests per operation, status codes, req/s, latency p50/p99) and each
 *    invariant, held or VIOLATED, with its numbers. Exit code 1 when any is violated.
 *
 * Bounded: SOAK_DURATION (seconds of traffic, default 60, at most 600), SOAK_CONNECTIONS
 * (requests in flight, default 16, at most 64). Everything it starts, it stops, also on Ctrl-C,
 * SIGTERM and errors.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { sign } from "hono/jwt";

const bounded = (name: string, fallback: number, max: number) =>
  Math.min(Math.max(Math.floor(Number(process.env[name] ?? fallback)) || fallback, 1), max);
const DURATION_SECONDS = bounded("SOAK_DURATION", 60, 600);
const CONNECTIONS = bounded("SOAK_CONNECTIONS", 16, 64);

const HOST = "127.0.0.1";
const PORT = 8798;
const BASE = `http://${HOST}:${PORT}`;
const API = `${BASE}/api/v1/invitations`;
const STATE = ".wrangler/soak";
const DEV_LOG = `${STATE}/wrangler-dev.log`;
const SECRET = "soak-secret-not-for-production-0123456789";
const WRANGLER = fileURLToPath(new URL("bin/wrangler.js", import.meta.resolve("wrangler/package.json")));
const WRANGLER_ENV = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
/** A request still unanswered after this counts as failed (and the soak keeps going). */
const REQUEST_TIMEOUT_MS = 30_000;

// Writes are limited to 60 a minute per organization and user: 20 organizations x 8 admins allow
// 160 writes a second, more than one machine's `wrangler dev` serves, so few writes are limited.
const ORGANIZATIONS = 20;
const ADMINS_PER_ORG = 8;
const OPERATORS_PER_ORG = 2;
/** Addresses each organization invites again and again: the duplicates that race. */
const SHARED_ADDRESSES_PER_ORG = 4;
/** Each organization's newest invitations, which revokes and accepts pick from, so they collide. */
const HOT_PER_ORG = 5;

const OPERATIONS = ["create", "list", "get", "revoke", "accept", "resend", "lookup"] as const;
type Operation = (typeof OPERATIONS)[number];
/**
 * Relative frequency of each operation. Previews are few: they are limited per client IP, and
 * every soak request comes from one.
 */
const MIX: Record<Operation, number> = {
  create: 26,
  list: 18,
  get: 14,
  revoke: 12,
  accept: 12,
  resend: 8,
  lookup: 4,
};

// ---------------------------------------------------------------------------------------------
// Processes: wrangler dev runs in its own process group, so stopping the group stops workerd too.

let dev: ChildProcess | undefined;
/** Set on SIGINT/SIGTERM: the request loops finish their current request and end. */
let stopping = false;

/** Signals wrangler dev's process group; false once nothing is left in it (0 only probes). */
function signalDev(signal: NodeJS.Signals | 0): boolean {
  if (!dev?.pid) return false;
  try {
    process.kill(-dev.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

/** Stops wrangler dev and everything it started; SIGKILL for whatever outlives 10 s. */
async function stopDev() {
  if (!dev?.pid) return;
  signalDev("SIGTERM");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!signalDev(0)) break;
    await sleep(100);
  }
  signalDev("SIGKILL");
  dev = undefined;
}

process.on("exit", () => signalDev("SIGTERM"));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopping = true;
    process.stderr.write(`\n${signal}: stopping wrangler dev\n`);
    void stopDev().finally(() => process.exit(130));
  });
}

function wrangler(args: string[]): string {
  return execFileSync(process.execPath, [WRANGLER, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: WRANGLER_ENV,
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** A D1 command against the soak's local database, with the app's own configuration. */
function d1(args: string[]): string {
  return wrangler(["d1", ...args, "DB", "--local", "--persist-to", STATE, "-c", "wrangler.toml"]);
}

/** Rows of each statement of `sql` (statements separated by `;`), read straight from local D1. */
function query(sql: string): Record<string, unknown>[][] {
  const output = JSON.parse(d1(["execute", "--json", "--command", sql])) as { results: unknown[] }[];
  return output.map((statement) => statement.results as Record<string, unknown>[]);
}

/** Refuses to start when anything accepts connections on the port (say, a server a killed run left). */
async function ensurePortFree() {
  const taken = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: HOST, port: PORT });
    const settle = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000);
    socket.once("connect", () => settle(true));
    socket.once("timeout", () => settle(true));
    socket.once("error", () => settle(false));
  });
  if (taken) {
    throw new Error(
      `Something already listens on ${HOST}:${PORT}; stop it first (a wrangler dev left by an earlier run?)`,
    );
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntilUp(child: ChildProcess) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited before it was ready; see ${DEV_LOG}`);
    try {
      // Any answer from the app will do: 401 without a token.
      const res = await fetch(API, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 401) return;
    } catch {}
    await sleep(250);
  }
  throw new Error(`wrangler dev did not answer within 90 s; see ${DEV_LOG}`);
}

// ---------------------------------------------------------------------------------------------
// Who calls: organizations with their members' tokens, and invitees' tokens made on demand.

type Tracked = { id: string; org: Organization; email: string; token: string };
type Organization = {
  id: string;
  admins: { sub: string; token: string }[];
  operators: string[];
  shared: string[];
  known: Tracked[];
  hot: Tracked[];
};

async function memberToken(org: string, sub: string, role: "ORG_ADMIN" | "OPERATOR") {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + DURATION_SECONDS + 3600;
  return sign({ sub, org_id: org, role, iat: now, exp }, SECRET, "HS256");
}

async function makeOrganizations(): Promise<Organization[]> {
  const organizations: Organization[] = [];
  for (let i = 0; i < ORGANIZATIONS; i++) {
    const id = `50a50000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`;
    const admins = [];
    for (let a = 0; a < ADMINS_PER_ORG; a++) {
      admins.push({ sub: `admin-${a}`, token: await memberToken(id, `admin-${a}`, "ORG_ADMIN") });
    }
    const operators = [];
    for (let o = 0; o < OPERATORS_PER_ORG; o++)
      operators.push(await memberToken(id, `operator-${o}`, "OPERATOR"));
    const shared = Array.from(
      { length: SHARED_ADDRESSES_PER_ORG },
      (_, k) => `shared-${k}@org${i + 1}.soak.example.com`,
    );
    organizations.push({ id, admins, operators, shared, known: [], hot: [] });
  }
  return organizations;
}

/** An invitee as an identity provider signs them in: `sub` and `email`, no organization or role. */
const inviteeTokens = new Map<string, Promise<string>>();
const inviteeSub = (email: string) => `invitee-${email}`;
function inviteeToken(email: string): Promise<string> {
  let token = inviteeTokens.get(email);
  if (!token) {
    const now = Math.floor(Date.now() / 1000);
    token = sign(
      { sub: inviteeSub(email), email, email_verified: true, iat: now, exp: now + DURATION_SECONDS + 3600 },
      SECRET,
      "HS256",
    );
    inviteeTokens.set(email, token);
  }
  return token;
}

// ---------------------------------------------------------------------------------------------
// What the soak saw.

type Check = { checked: number; failed: number; examples: string[] };
const newCheck = (): Check => ({ checked: 0, failed: 0, examples: [] });
function failCheck(check: Check, example: string) {
  check.failed++;
  if (check.examples.length < 5) check.examples.push(example);
}

const latencies = new Map<Operation, number[]>(OPERATIONS.map((op) => [op, []]));
/** Status counts per operation; 0 stands for "no answer" (connection error or timeout). */
const statuses = new Map<Operation, Map<number, number>>(OPERATIONS.map((op) => [op, new Map()]));
const transportErrors: string[] = [];
let limiter429 = 0;
let cooldown429 = 0;

const envelopeCheck = newCheck();
const responseCheck = newCheck();
const tenancyCheck = newCheck();
const wrongAddressCheck = newCheck();

/** What the API said it did, to compare with what the database holds afterwards. */
const created = new Map<string, { org: string; email: string }>();
const revokedBy = new Map<string, string[]>();
const acceptedBy = new Map<string, string[]>();
const resends = new Map<string, number>();

/** Races that really happened: a request that started while a conflicting one was in flight. */
const races = { createSameAddress: 0, revokeOrAcceptSameInvitation: 0, resendWhileAcceptOrRevoke: 0 };
const createsInFlight = new Map<string, number>();
const changesInFlight = new Map<string, number>();
const resendsInFlight = new Map<string, number>();
const enter = (inFlight: Map<string, number>, key: string) => inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
const leave = (inFlight: Map<string, number>, key: string) => inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
const busy = (inFlight: Map<string, number>, key: string) => (inFlight.get(key) ?? 0) > 0;
/** A revoke or accept of `id` is starting: does it race another revoke, accept or resend of it? */
function noteChangeRaces(id: string) {
  if (busy(changesInFlight, id)) races.revokeOrAcceptSameInvitation++;
  if (busy(resendsInFlight, id)) races.resendWhileAcceptOrRevoke++;
}

const ENVELOPE_KEYS = ["code", "details", "error", "message", "statusCode"].join(",");

function checkEnvelope(
  op: Operation,
  status: number,
  contentType: string | null,
  body: unknown,
  text: string,
) {
  envelopeCheck.checked++;
  const envelope = body as Record<string, unknown> | undefined;
  const ok =
    contentType?.startsWith("application/json") === true &&
    typeof envelope === "object" &&
    envelope !== null &&
    Object.keys(envelope).sort().join(",") === ENVELOPE_KEYS &&
    typeof envelope.code === "string" &&
    typeof envelope.details === "object" &&
    envelope.details !== null &&
    !Array.isArray(envelope.details) &&
    typeof envelope.error === "string" &&
    typeof envelope.message === "string" &&
    envelope.statusCode === status;
  if (!ok) failCheck(envelopeCheck, `${op} ${status}: ${text.slice(0, 200)}`);
}

type Answer = { status: number; body: unknown };

/** One request, timed and counted; undefined when no answer came (counted as a transport error). */
async function call(
  op: Operation,
  method: string,
  url: string,
  { token, json }: { token?: string; json?: unknown } = {},
): Promise<Answer | undefined> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const started = performance.now();
  let status: number;
  let text: string;
  let contentType: string | null;
  try {
    const res = await fetch(url, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await res.text();
    status = res.status;
    contentType = res.headers.get("Content-Type");
  } catch (error) {
    const counts = statuses.get(op);
    counts?.set(0, (counts.get(0) ?? 0) + 1);
    if (transportErrors.length < 5) transportErrors.push(`${op} ${method}: ${String(error)}`);
    return undefined;
  }
  latencies.get(op)?.push(performance.now() - started);
  const counts = statuses.get(op);
  counts?.set(status, (counts.get(status) ?? 0) + 1);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 300) checkEnvelope(op, status, contentType, body, text);
  if (status === 429) {
    // The resend cooldown says when the invitation can go again; the rate limiters say no more.
    const message = (body as { message?: unknown } | undefined)?.message;
    if (typeof message === "string" && message.startsWith("This invitation was sent recently")) cooldown429++;
    else limiter429++;
  }
  return { status, body };
}

type InvitationBody = { id: string; organizationId: string; email: string; status: string; token?: unknown };
function asInvitation(body: unknown): InvitationBody | undefined {
  const value = body as Partial<InvitationBody> | undefined;
  return typeof value?.id === "string" &&
    typeof value.organizationId === "string" &&
    typeof value.email === "string" &&
    typeof value.status === "string"
    ? (value as InvitationBody)
    : undefined;
}

// ---------------------------------------------------------------------------------------------
// The traffic.

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const chance = (p: number) => Math.random() < p;

/** The same address as a person might type it: letters in random case, sometimes padded. */
function retyped(address: string): string {
  const mixed = [...address].map((ch) => (chance(0.3) ? ch.toUpperCase() : ch)).join("");
  return chance(0.1) ? `  ${mixed} ` : mixed;
}

let freshAddresses = 0;

function remember(org: Organization, invitation: Tracked) {
  org.known.push(invitation);
  org.hot.push(invitation);
  if (org.hot.length > HOT_PER_ORG) org.hot.shift();
}

/** Another organization's invitation, for requests that must not reach it. */
function foreignInvitation(organizations: Organization[], org: Organization): Tracked | undefined {
  const other = pick(organizations);
  return other === org ? undefined : pick(other.known);
}

async function create(org: Organization) {
  const admin = pick(org.admins);
  const address = chance(0.6) ? pick(org.shared) : `fresh-${++freshAddresses}@soak.example.com`;
  const body: Record<string, unknown> = { email: retyped(address) };
  if (chance(0.5)) body.role = pick(["ORG_ADMIN", "OPERATOR", "VIEWER"]);
  if (chance(0.3)) body.expiresInDays = 1 + Math.floor(Math.random() * 30);
  const key = `${org.id} ${address}`;
  if (busy(createsInFlight, key)) races.createSameAddress++;
  enter(createsInFlight, key);
  const answer = await call("create", "POST", API, { token: admin.token, json: body }).finally(() =>
    leave(createsInFlight, key),
  );
  if (answer?.status !== 201) return;
  responseCheck.checked++;
  const invitation = asInvitation(answer.body);
  const token = invitation?.token;
  if (
    !invitation ||
    invitation.organizationId !== org.id ||
    invitation.email !== address ||
    invitation.status !== "PENDING" ||
    typeof token !== "string"
  ) {
    failCheck(
      responseCheck,
      `create 201 for ${org.id} ${address}: ${JSON.stringify(answer.body).slice(0, 200)}`,
    );
    if (!invitation) return;
  }
  created.set(invitation.id, { org: org.id, email: address });
  remember(org, { id: invitation.id, org, email: address, token: typeof token === "string" ? token : "" });
}

const LIST_QUERIES: ((org: Organization) => string)[] = [
  () => "",
  () => "?status=PENDING",
  () => "?status=PENDING,EXPIRED&sort=email&limit=5",
  (org) => `?email=${encodeURIComponent(retyped(pick(org.shared)).trim())}`,
  () => "?role=OPERATOR&role=VIEWER&sort=-expiresAt",
  () => `?invitedBy=admin-${Math.floor(Math.random() * ADMINS_PER_ORG)}`,
  () => "?status=ACCEPTED,REVOKED&page=2&limit=10",
  () => "?sort=createdAt&limit=100",
];

async function list(org: Organization) {
  const token = chance(0.5) ? pick(org.operators) : pick(org.admins).token;
  const answer = await call("list", "GET", `${API}${pick(LIST_QUERIES)(org)}`, { token });
  if (answer?.status !== 200) return;
  const page = answer.body as { data?: unknown; meta?: { total?: unknown } } | undefined;
  tenancyCheck.checked++;
  if (!Array.isArray(page?.data) || typeof page.meta?.total !== "number") {
    failCheck(responseCheck, `list 200 without data/meta: ${JSON.stringify(answer.body).slice(0, 200)}`);
    return;
  }
  const foreign = page.data.map(asInvitation).find((invitation) => invitation?.organizationId !== org.id);
  if (foreign !== undefined || page.data.some((item) => !asInvitation(item))) {
    failCheck(tenancyCheck, `list for ${org.id} showed ${JSON.stringify(foreign).slice(0, 200)}`);
  }
}

async function get(organizations: Organization[], org: Organization) {
  const token = chance(0.5) ? pick(org.operators) : pick(org.admins).token;
  const foreign = chance(0.1) ? foreignInvitation(organizations, org) : undefined;
  if (foreign) {
    const answer = await call("get", "GET", `${API}/${foreign.id}`, { token });
    if (answer && answer.status !== 429) {
      tenancyCheck.checked++;
      if (answer.status !== 404)
        failCheck(tenancyCheck, `get of ${foreign.org.id}'s ${foreign.id} as ${org.id}: ${answer.status}`);
    }
    return;
  }
  const target = pick(org.known);
  const answer = await call("get", "GET", `${API}/${target.id}`, { token });
  if (answer?.status !== 200) return;
  responseCheck.checked++;
  const invitation = asInvitation(answer.body);
  if (
    invitation?.id !== target.id ||
    invitation.organizationId !== org.id ||
    invitation.email !== target.email
  ) {
    failCheck(responseCheck, `get ${target.id}: ${JSON.stringify(answer.body).slice(0, 200)}`);
  }
}

async function revoke(organizations: Organization[], org: Organization) {
  const admin = pick(org.admins);
  const foreign = chance(0.05) ? foreignInvitation(organizations, org) : undefined;
  if (foreign) {
    const answer = await call("revoke", "DELETE", `${API}/${foreign.id}`, { token: admin.token });
    if (answer && answer.status !== 429) {
      tenancyCheck.checked++;
      if (answer.status !== 404)
        failCheck(tenancyCheck, `revoke of ${foreign.org.id}'s ${foreign.id} as ${org.id}: ${answer.status}`);
    }
    if (answer?.status === 200) revokedBy.set(foreign.id, [...(revokedBy.get(foreign.id) ?? []), admin.sub]);
    return;
  }
  const target = pick(org.hot);
  noteChangeRaces(target.id);
  enter(changesInFlight, target.id);
  // Upper case on purpose now and then: ids are accepted in any case.
  const id = chance(0.1) ? target.id.toUpperCase() : target.id;
  const answer = await call("revoke", "DELETE", `${API}/${id}`, { token: admin.token }).finally(() =>
    leave(changesInFlight, target.id),
  );
  if (answer?.status === 200) revokedBy.set(target.id, [...(revokedBy.get(target.id) ?? []), admin.sub]);
}

async function accept(org: Organization) {
  const target = pick(org.hot);
  // Now and then someone else's account holds the link: it must never accept.
  const wrong = chance(0.1) ? pick(org.shared.filter((address) => address !== target.email)) : undefined;
  const email = wrong ?? target.email;
  noteChangeRaces(target.id);
  enter(changesInFlight, target.id);
  const answer = await call("accept", "POST", `${API}/accept`, {
    token: await inviteeToken(email),
    json: { token: target.token },
  }).finally(() => leave(changesInFlight, target.id));
  if (!answer) return;
  if (wrong) {
    if (answer.status !== 429) wrongAddressCheck.checked++;
    if (answer.status === 200)
      failCheck(wrongAddressCheck, `${wrong} accepted ${target.id}, sent to ${target.email}`);
  }
  if (answer.status !== 200) return;
  responseCheck.checked++;
  const invitation = asInvitation(answer.body);
  if (
    invitation?.id !== target.id ||
    invitation.status !== "ACCEPTED" ||
    invitation.organizationId !== org.id
  ) {
    failCheck(responseCheck, `accept of ${target.id}: ${JSON.stringify(answer.body).slice(0, 200)}`);
  }
  acceptedBy.set(target.id, [...(acceptedBy.get(target.id) ?? []), inviteeSub(email)]);
}

async function resend(org: Organization) {
  // Mostly the oldest invitations: only those sent RESEND_COOLDOWN_SECONDS ago can go again.
  const target = org.known[Math.floor(Math.random() ** 3 * org.known.length)] ?? pick(org.known);
  if (busy(changesInFlight, target.id)) races.resendWhileAcceptOrRevoke++;
  enter(resendsInFlight, target.id);
  const answer = await call("resend", "POST", `${API}/${target.id}/resend`, {
    token: pick(org.admins).token,
  }).finally(() => leave(resendsInFlight, target.id));
  if (answer?.status !== 200) return;
  resends.set(target.id, (resends.get(target.id) ?? 0) + 1);
  responseCheck.checked++;
  const invitation = asInvitation(answer.body);
  if (
    invitation?.id !== target.id ||
    invitation.status !== "PENDING" ||
    typeof invitation.token !== "string"
  ) {
    failCheck(responseCheck, `resend of ${target.id}: ${JSON.stringify(answer.body).slice(0, 200)}`);
    return;
  }
  // The old link stops working: later accepts and previews use the new one.
  target.token = invitation.token;
}

async function lookup(org: Organization) {
  const target = pick(org.known);
  const token = target.token;
  const answer = await call("lookup", "GET", `${API}/lookup?token=${encodeURIComponent(token)}`);
  if (answer?.status !== 200) return;
  responseCheck.checked++;
  const preview = asInvitation(answer.body);
  if (preview?.id !== target.id || preview.organizationId !== org.id || preview.email !== target.email) {
    failCheck(responseCheck, `preview of ${target.id}: ${JSON.stringify(answer.body).slice(0, 200)}`);
  }
}

const TOTAL_WEIGHT = Object.values(MIX).reduce((sum, weight) => sum + weight, 0);
function pickOperation(): Operation {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const op of OPERATIONS) {
    roll -= MIX[op];
    if (roll < 0) return op;
  }
  return "create";
}

async function loop(organizations: Organization[], deadline: number) {
  while (!stopping && Date.now() < deadline) {
    const org = pick(organizations);
    // Until an organization has invitations, everything that needs one creates one instead.
    const op = org.known.length === 0 ? "create" : pickOperation();
    switch (op) {
      case "create":
        await create(org);
        break;
      case "list":
        await list(org);
        break;
      case "get":
        await get(organizations, org);
        break;
      case "revoke":
        await revoke(organizations, org);
        break;
      case "accept":
        await accept(org);
        break;
      case "resend":
        await resend(org);
        break;
      case "lookup":
        await lookup(org);
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Figures and invariants.

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

const ms = (value: number) => (Number.isNaN(value) ? "n/a" : `${value.toFixed(1)} ms`);
const statusList = (counts: Map<number, number>) =>
  [...counts]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status === 0 ? "no answer" : status}: ${n}`)
    .join(", ");

type Invariant = { name: string; held: boolean; numbers: string; examples: string[] };

function checkDatabase(): Invariant[] {
  const now = Date.now();
  const [duplicates, livePending, rows, actualCounts, counters] = query(
    [
      `SELECT organization_id, email, count(*) AS n FROM invitations WHERE status = 'PENDING' AND expires_at > ${now} GROUP BY organization_id, email HAVING n > 1`,
      `SELECT count(*) AS n FROM invitations WHERE status = 'PENDING' AND expires_at > ${now}`,
      "SELECT id, organization_id, email, status, accepted_by, revoked_by, resend_count FROM invitations",
      "SELECT organization_id, count(*) AS n FROM invitations GROUP BY organization_id",
      "SELECT organization_id, total FROM organization_invitation_counts",
    ].join("; "),
  ).map((result) => result ?? []);
  if (!duplicates || !livePending || !rows || !actualCounts || !counters)
    throw new Error("D1 answered too few results");

  type Row = {
    id: string;
    organization_id: string;
    email: string;
    status: string;
    accepted_by: string | null;
    revoked_by: string | null;
    resend_count: number;
  };
  const stored = new Map((rows as Row[]).map((row) => [row.id, row]));
  const invariants: Invariant[] = [];

  invariants.push({
    name: "at most one live PENDING per (organization, email)",
    held: duplicates.length === 0,
    numbers: `${duplicates.length} duplicated pairs among ${Number(livePending[0]?.n ?? 0)} live PENDING`,
    examples: duplicates.slice(0, 5).map((d) => JSON.stringify(d)),
  });

  const missing: string[] = [];
  for (const [id, expected] of created) {
    const row = stored.get(id);
    if (!row || row.organization_id !== expected.org || row.email !== expected.email) {
      missing.push(`${id} ${expected.org} ${expected.email}: ${row ? JSON.stringify(row) : "absent"}`);
    }
  }
  invariants.push({
    name: "every 201 is stored with its id, organization and email",
    held: missing.length === 0,
    numbers: `${created.size} created, ${created.size - missing.length} stored as answered, ${missing.length} not; ${stored.size} rows in all`,
    examples: missing.slice(0, 5),
  });

  const stateChanges = (
    name: string,
    answered: Map<string, string[]>,
    status: string,
    by: (row: Row) => string | null,
  ): Invariant => {
    const wrong: string[] = [];
    for (const [id, callers] of answered) {
      const row = stored.get(id);
      if (row?.status !== status || by(row) !== callers[0]) {
        wrong.push(`${id} (200 for ${callers.join(", ")}): ${row ? JSON.stringify(row) : "absent"}`);
      }
    }
    return {
      name,
      held: wrong.length === 0,
      numbers: `${answered.size} answered 200, ${answered.size - wrong.length} stored ${status} by that caller, ${wrong.length} not`,
      examples: wrong.slice(0, 5),
    };
  };
  invariants.push(
    stateChanges("every 200 revoke is stored REVOKED", revokedBy, "REVOKED", (row) => row.revoked_by),
  );
  invariants.push(
    stateChanges("every 200 accept is stored ACCEPTED", acceptedBy, "ACCEPTED", (row) => row.accepted_by),
  );

  const twice = [...new Set([...revokedBy.keys(), ...acceptedBy.keys()])]
    .map((id) => ({ id, revokes: revokedBy.get(id)?.length ?? 0, accepts: acceptedBy.get(id)?.length ?? 0 }))
    .filter(({ revokes, accepts }) => revokes + accepts > 1);
  invariants.push({
    name: "at most one revoke or accept succeeds per invitation",
    held: twice.length === 0,
    numbers: `${revokedBy.size + acceptedBy.size} invitations changed, ${twice.length} changed more than once`,
    examples: twice.slice(0, 5).map((t) => JSON.stringify(t)),
  });

  const resendMismatch: string[] = [];
  for (const row of rows as Row[]) {
    const answered = resends.get(row.id) ?? 0;
    if (row.resend_count !== answered)
      resendMismatch.push(`${row.id}: stored ${row.resend_count}, 200s ${answered}`);
  }
  const resent = [...resends.values()].reduce((sum, n) => sum + n, 0);
  invariants.push({
    name: "resend_count equals the 200 resends",
    held: resendMismatch.length === 0,
    numbers: `${resent} resends answered 200 over ${resends.size} invitations, ${resendMismatch.length} rows differ`,
    examples: resendMismatch.slice(0, 5),
  });

  const actual = new Map(actualCounts.map((r) => [String(r.organization_id), Number(r.n)]));
  const counted = new Map(counters.map((r) => [String(r.organization_id), Number(r.total)]));
  const countMismatch = [...new Set([...actual.keys(), ...counted.keys()])]
    .filter((org) => (actual.get(org) ?? 0) !== (counted.get(org) ?? 0))
    .map((org) => `${org}: count(*) ${actual.get(org) ?? 0}, counter ${counted.get(org) ?? "no row"}`);
  invariants.push({
    name: "organization_invitation_counts equals count(*) per organization",
    held: countMismatch.length === 0,
    numbers: `${actual.size} organizations, ${countMismatch.length} off`,
    examples: countMismatch.slice(0, 5),
  });
  return invariants;
}

function devLogErrors(): string[] {
  try {
    return stripVTControlCharacters(readFileSync(DEV_LOG, "utf8"))
      .split("\n")
      .filter((line) => line.includes('"level":"error"') || /\bUncaught\b|✘ \[ERROR\]/.test(line));
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  await ensurePortFree();
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true });

  process.stderr.write(`Migrating a fresh database in ${STATE} ...\n`);
  d1(["migrations", "apply"]);

  process.stderr.write(`Starting wrangler dev on ${HOST}:${PORT} (output in ${DEV_LOG}) ...\n`);
  const logFile = openSync(DEV_LOG, "a");
  dev = spawn(
    process.execPath,
    [
      WRANGLER,
      "dev",
      "-c",
      "wrangler.toml",
      "--persist-to",
      STATE,
      "--ip",
      HOST,
      "--port",
      String(PORT),
      "--var",
      `JWT_SECRET:${SECRET}`,
      // wrangler.toml's 60 s would refuse every resend of a one-minute run; 5 s lets them race.
      "--var",
      "RESEND_COOLDOWN_SECONDS:5",
      "--log-level",
      "warn",
      "--show-interactive-dev-session=false",
    ],
    { detached: true, stdio: ["ignore", logFile, logFile], env: WRANGLER_ENV },
  );
  closeSync(logFile);
  await waitUntilUp(dev);

  const organizations = await makeOrganizations();
  const first = organizations[0];
  if (!first) throw new Error("no organizations");
  // The soak's secret must be the one the Worker verifies with (a .dev.vars must not win).
  const probe = await fetch(`${API}?limit=1`, { headers: { Authorization: `Bearer ${first.operators[0]}` } });
  await probe.arrayBuffer();
  if (probe.status !== 200)
    throw new Error(`A soak token was answered ${probe.status}, not 200: is JWT_SECRET applied?`);

  process.stderr.write(
    `Soaking: ${DURATION_SECONDS} s, ${CONNECTIONS} connections, ${ORGANIZATIONS} organizations x ${ADMINS_PER_ORG} admins + ${OPERATORS_PER_ORG} operators\n`,
  );
  const started = performance.now();
  const deadline = Date.now() + DURATION_SECONDS * 1000;
  const total = () =>
    [...statuses.values()].reduce((sum, counts) => sum + [...counts.values()].reduce((a, b) => a + b, 0), 0);
  const progress = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(
      `  ${seconds.toFixed(0)} s: ${total()} requests, ${(total() / seconds).toFixed(0)} req/s\n`,
    );
  }, 10_000);
  await Promise.all(Array.from({ length: CONNECTIONS }, () => loop(organizations, deadline)));
  clearInterval(progress);
  const elapsed = (performance.now() - started) / 1000;
  if (stopping) return;

  process.stderr.write("Stopping wrangler dev, then checking the database ...\n");
  await stopDev();
  const invariants = checkDatabase();

  const allStatuses = new Map<number, number>();
  for (const counts of statuses.values()) {
    for (const [status, n] of counts) allStatuses.set(status, (allStatuses.get(status) ?? 0) + n);
  }
  const requests = total();
  const serverErrors = [...allStatuses]
    .filter(([status]) => status >= 500)
    .reduce((sum, [, n]) => sum + n, 0);
  const unanswered = allStatuses.get(0) ?? 0;
  const workerErrors = devLogErrors();
  invariants.push({
    name: "no 5xx response",
    held: serverErrors === 0,
    numbers: `${serverErrors} of ${requests}; ${workerErrors.length} error lines in ${DEV_LOG}`,
    examples: workerErrors.slice(0, 5).map((line) => line.slice(0, 400)),
  });
  invariants.push({
    name: "every request answered (no connection error or timeout)",
    held: unanswered === 0,
    numbers: `${unanswered} of ${requests} unanswered`,
    examples: transportErrors,
  });
  const fromCheck = (name: string, check: Check, what: string): Invariant => ({
    name,
    held: check.failed === 0,
    numbers: `${check.checked} ${what}, ${check.failed} not`,
    examples: check.examples,
  });
  invariants.push(
    fromCheck(
      "every non-2xx has the JSON error envelope, statusCode = HTTP status",
      envelopeCheck,
      "errors checked",
    ),
    fromCheck("2xx bodies match their requests", responseCheck, "bodies checked"),
    fromCheck(
      "another organization's invitations stay out of reach (404, never listed)",
      tenancyCheck,
      "checked",
    ),
    fromCheck("an accept by the wrong address never succeeds", wrongAddressCheck, "wrong-address accepts"),
  );

  const everyLatency = [...latencies.values()].flat().sort((a, b) => a - b);
  const lines = [
    "",
    `Soak: ${elapsed.toFixed(1)} s, ${CONNECTIONS} connections, ${ORGANIZATIONS} organizations, wrangler dev on ${HOST}:${PORT}, local D1`,
    `Requests: ${requests}, ${(requests / elapsed).toFixed(1)} req/s, latency p50 ${ms(percentile(everyLatency, 0.5))}, p99 ${ms(percentile(everyLatency, 0.99))}`,
    `Status codes: ${statusList(allStatuses)}`,
    `429 RATE_LIMITED: ${limiter429} by the rate limiters, ${cooldown429} by the resend cooldown`,
    `Races: ${races.createSameAddress} creates while a create of the same address was in flight, ${races.revokeOrAcceptSameInvitation} revokes/accepts while another on the same invitation was, ${races.resendWhileAcceptOrRevoke} resends overlapping a revoke/accept of the same invitation`,
    "",
    `${"operation".padEnd(10)}${"requests".padStart(9)}${"p50".padStart(11)}${"p99".padStart(11)}  statuses`,
    ...OPERATIONS.map((op) => {
      const sorted = (latencies.get(op) ?? []).sort((a, b) => a - b);
      const counts = statuses.get(op) ?? new Map<number, number>();
      const n = [...counts.values()].reduce((a, b) => a + b, 0);
      return `${op.padEnd(10)}${String(n).padStart(9)}${ms(percentile(sorted, 0.5)).padStart(11)}${ms(percentile(sorted, 0.99)).padStart(11)}  ${statusList(counts)}`;
    }),
    "",
    "Invariants:",
    ...invariants.flatMap((invariant) => [
      `  ${invariant.held ? "held    " : "VIOLATED"}  ${invariant.name}: ${invariant.numbers}`,
      ...(invariant.held ? [] : invariant.examples.map((example) => `              e.g. ${example}`)),
    ]),
  ];
  console.log(lines.join("\n"));
  const violated = invariants.filter((invariant) => !invariant.held).length;
  console.log(violated === 0 ? "\nAll invariants held." : `\n${violated} invariant(s) VIOLATED.`);
  process.exitCode = violated === 0 ? 0 : 1;
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(stopDev);
