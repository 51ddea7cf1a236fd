/**
 * Property-based tests: random and hostile requests against every operation, sent through the
 * Worker's real entry, with four invariants checked on every response:
 *
 * 1. never a 5xx;
 * 2. every non-2xx response is the JSON error envelope `{ code, details, error, message, statusCode }`
 *    with `statusCode` equal to the HTTP status (and 2xx responses are JSON objects);
 * 3. a rejected request changes nothing: the tables it could write are dumped before and after it;
 * 4. no response carries another organization's data: a "victim" organization is seeded with
 *    known ids, emails, users and link tokens, none of which may ever come back to the attacker.
 *
 * Callers are mostly an "attacker" organization's members with a random role; the rest are
 * anonymous, garbled, duplicated or crafted credentials. Time is a fake `Date` that the runs move
 * forward (sometimes past the resend cooldown, rarely by days), so resends and expiries happen too.
 *
 * Runs per property: FUZZ_RUNS, or DEFAULT_RUNS when empty. The generators are beside this file,
 * in test/properties/: the two organizations (scene.ts), what a request may be (arbitraries.ts)
 * and how a generated one is sent (requests.ts); this file holds the invariants and the runs.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ROLES } from "../src/db/schema";
import { ERRORS } from "../src/lib/errors";
import { acceptAs, api, caller, createWithLink, databaseSnapshot, freezeClock, signToken } from "./helpers";
import { type Operation, type RequestSpec, requests } from "./properties/arbitraries";
import { build } from "./properties/requests";
import {
  ATTACKER_ORG,
  ATTACKER_SUBS,
  known,
  VICTIM_ADMIN_SUB,
  VICTIM_INVITEE_SUB,
  VICTIM_ORG,
  victim,
  victimEmail,
} from "./properties/scene";

const DEFAULT_RUNS = 400;
const RUNS = parseRuns(env.FUZZ_RUNS);

function parseRuns(value: string): number {
  if (value.trim() === "") return DEFAULT_RUNS;
  const runs = Number(value);
  if (!Number.isSafeInteger(runs) || runs < 1)
    throw new Error(`FUZZ_RUNS must be a positive integer: ${value}`);
  return runs;
}

/** Generous per property: a slow machine, and shrinking after a failure, both take their time. */
const TIMEOUT_MS = 30_000 + RUNS * 150;

// ---------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------

type Dump = Awaited<ReturnType<typeof databaseSnapshot>> & {
  /** The tables serialized, for a cheap comparison. */
  text: string;
};

/** The tables a request writes, in key order: what "changes nothing" is measured against. */
async function dumpDatabase(): Promise<Dump> {
  const dump = await databaseSnapshot();
  return { ...dump, text: JSON.stringify(dump) };
}

/** The rows that differ between two dumps, for a readable failure. */
function changedRows(before: Dump, after: Dump) {
  const diff = (a: unknown[], b: unknown[]) => {
    const left = new Set(a.map((row) => JSON.stringify(row)));
    const right = new Set(b.map((row) => JSON.stringify(row)));
    return {
      removed: [...left].filter((row) => !right.has(row)),
      added: [...right].filter((row) => !left.has(row)),
    };
  };
  return {
    invitations: diff(before.invitations, after.invitations),
    counts: diff(before.counts, after.counts),
    events: diff(before.events, after.events),
    idempotencyKeys: diff(before.idempotencyKeys, after.idempotencyKeys),
  };
}

/** Every `organizationId` anywhere in a response body. */
function organizationIds(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(organizationIds);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === "organizationId" ? [inner, ...organizationIds(inner)] : organizationIds(inner),
  );
}

function isErrorDetails(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every(
      (messages) => Array.isArray(messages) && messages.every((message) => typeof message === "string"),
    )
  );
}

/** Object.prototype as it was before any request: the Worker runs in this isolate, so pollution would show. */
const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

const stats = new Map<Operation, Map<number, number>>();

function record(operation: Operation, status: number) {
  const byStatus = stats.get(operation) ?? new Map<number, number>();
  byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  stats.set(operation, byStatus);
}

/** What the attacker learns from a success: new invitations and links to use in later runs. */
function learn(body: unknown) {
  if (typeof body !== "object" || body === null) return;
  // A bulk create's invitations, each with its link.
  const { results } = body as { results?: unknown };
  if (Array.isArray(results))
    for (const result of results) learn((result as { invitation?: unknown }).invitation);
  const { id, email, token } = body as Record<string, unknown>;
  if (typeof id === "string" && typeof email === "string" && typeof token === "string") {
    known.push({ id, email, token });
  }
}

let clock = 0;
let freshInvitations = 0;
/** The database as the last request left it; cleared by any write made outside `fuzz`. */
let lastDump: Dump | undefined;

/** The Worker's log lines of the current request: kept out of the test output, shown on a failure. */
const workerLog: string[] = [];

/** Sends one generated request through the Worker's entry and checks every invariant on it. */
async function fuzz(operation: Operation, spec: RequestSpec): Promise<void> {
  if (spec.fresh) {
    const admin = await caller("ORG_ADMIN", ATTACKER_ORG, ATTACKER_SUBS[0]);
    const { id, email, token } = await createWithLink(admin, `fresh-${++freshInvitations}@attacker.example`);
    known.push({ id, email, token });
    lastDump = undefined;
  }
  clock += spec.elapsedMs;
  vi.setSystemTime(clock);
  const { url, init, sent } = await build(spec);
  workerLog.length = 0;

  // This test is the database's only writer and the Worker leaves no work running after its
  // response, so the dump taken after the previous request still shows the state before this one.
  const before = lastDump ?? (await dumpDatabase());
  lastDump = undefined;
  const res = await exports.default.fetch(url, init);
  const responseText = await res.text();
  const after = await dumpDatabase();
  lastDump = after;
  record(operation, res.status);

  const ok = res.status >= 200 && res.status < 300;
  const what = [
    `${init.method} ${url.slice(0, 300)} -> ${res.status} ${responseText.slice(0, 500)}`,
    ...workerLog.map((line) => line.slice(0, 1_000)),
  ].join("\n");

  // 1. Never a server error.
  expect(res.status, what).toBeLessThan(500);

  // 2. JSON always; the exact error envelope on every refusal.
  expect(res.headers.get("Content-Type") ?? "", what).toMatch(/^application\/json/);
  let body: unknown;
  expect(() => {
    body = JSON.parse(responseText);
  }, what).not.toThrow();
  expect(typeof body === "object" && body !== null && !Array.isArray(body), what).toBe(true);
  if (!ok) {
    const envelope = body as Record<string, unknown>;
    expect(Object.keys(envelope).sort(), what).toEqual(["code", "details", "error", "message", "statusCode"]);
    expect(envelope.statusCode, what).toBe(res.status);
    const expected = ERRORS[envelope.code as keyof typeof ERRORS];
    expect(expected?.status, `${what}\nan unknown code, or one with another status`).toBe(res.status);
    expect(envelope.error, what).toBe(expected?.error);
    expect(typeof envelope.message, what).toBe("string");
    expect(isErrorDetails(envelope.details), what).toBe(true);
  }

  // 3. A refusal writes nothing.
  if (!ok && after.text !== before.text) {
    expect.fail(`${what}\nchanged rows: ${JSON.stringify(changedRows(before, after))}`);
  }

  // 4. Nothing of the victim's, ever. A refusal may repeat what the request itself sent (a
  // validation message naming a key); a success may not contain any of it.
  const lowerResponse = responseText.toLowerCase();
  const lowerSent = sent.toLowerCase();
  const leaked = victim.markers.filter((marker) => {
    const lower = marker.toLowerCase();
    return lowerResponse.includes(lower) && (ok || !lowerSent.includes(lower));
  });
  expect(leaked, what).toEqual([]);
  for (const organizationId of organizationIds(body)) expect(organizationId, what).toBe(ATTACKER_ORG);

  // And no hostile key reached Object.prototype on the way.
  expect(Object.getOwnPropertyNames(Object.prototype).sort(), what).toEqual(PROTOTYPE_KEYS);

  if (ok) learn(body);
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

describe("property-based fuzzing of every operation", () => {
  beforeAll(async () => {
    // The victim: a pending, a revoked, an accepted and a short-lived invitation, each with its link.
    const victimAdmin = await caller("ORG_ADMIN", VICTIM_ORG, VICTIM_ADMIN_SUB);
    const links = [];
    for (let n = 0; n < 4; n++) {
      links.push(await createWithLink(victimAdmin, victimEmail(n), n === 3 ? { expiresInDays: 1 } : {}));
    }
    const [, revoked, accepted] = links;
    if (!revoked || !accepted) throw new Error("victim not seeded");
    const revoke = await api(`/api/v1/invitations/${revoked.id}`, {
      method: "DELETE",
      token: victimAdmin.token,
    });
    expect(revoke.status).toBe(200);
    const acceptToken = await signToken({
      sub: VICTIM_INVITEE_SUB,
      claims: { email: accepted.email, org_id: undefined, role: undefined },
    });
    const accept = await api("/api/v1/invitations/accept", {
      method: "POST",
      token: acceptToken,
      json: { token: accepted.token },
    });
    expect(accept.status).toBe(200);
    for (const link of links) {
      victim.ids.push(link.id);
      victim.markers.push(link.id, link.email, link.token);
    }

    // The attacker starts with a few invitations of its own, one already accepted.
    const attackerAdmin = await caller("ORG_ADMIN", ATTACKER_ORG, ATTACKER_SUBS[0]);
    for (let n = 0; n < 8; n++) {
      const { id, email, token } = await createWithLink(attackerAdmin, `seed-${n}@attacker.example`, {
        role: ROLES[n % ROLES.length],
      });
      known.push({ id, email, token });
    }
    const first = known[0];
    if (first) await acceptAs(first.email, first.token);

    // The Worker logs every write; its lines are kept for failure messages instead of printed.
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        workerLog.push(args.map(String).join(" "));
      });
    }

    // From here on time is ours to move.
    clock = Date.now();
    freezeClock(clock);
  });

  afterAll(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    const total = [...stats.values()].reduce(
      (sum, byStatus) => sum + [...byStatus.values()].reduce((a, b) => a + b, 0),
      0,
    );
    const summary = Object.fromEntries(
      [...stats].map(([operation, byStatus]) => [
        operation,
        Object.fromEntries([...byStatus].sort(([a], [b]) => a - b)),
      ]),
    );
    console.log(
      `properties: ${total} requests fuzzed (${RUNS} runs per property, plus ${freshInvitations} setup creates), by status: ${JSON.stringify(summary)}`,
    );
  });

  const properties: [Operation, string][] = [
    ["list", "GET /invitations with random queries"],
    ["create", "POST /invitations with random bodies, content types and callers"],
    ["bulk", "POST /invitations/bulk with random items, flags and callers"],
    ["lookup", "GET /invitations/lookup with random tokens and queries"],
    ["get", "GET /invitations/{id} with random ids"],
    ["resend", "POST /invitations/{id}/resend with random ids, bodies and elapsed time"],
    ["revoke", "DELETE /invitations/{id} with random ids and bodies"],
    ["accept", "POST /invitations/accept with random tokens, bodies and invitees"],
  ];

  /** Properties that ran all their runs without a counterexample. */
  const completed = new Set<Operation>();

  for (const [operation, description] of properties) {
    it(
      `${description}: never 5xx, always the error envelope, refusals write nothing, nothing of another organization leaks`,
      async () => {
        await fc.assert(
          fc.asyncProperty(requests[operation], (spec) => fuzz(operation, spec)),
          { numRuns: RUNS },
        );
        completed.add(operation);
      },
      TIMEOUT_MS,
    );
  }

  it("sends every completed property's runs as real requests, with successes and refusals on every operation", () => {
    for (const operation of completed) {
      const byStatus = [...(stats.get(operation) ?? [])];
      const count = (matches: (status: number) => boolean) =>
        byStatus.filter(([status]) => matches(status)).reduce((sum, [, n]) => sum + n, 0);
      expect(
        count(() => true),
        `${operation}: requests`,
      ).toBeGreaterThanOrEqual(RUNS);
      // With a handful of runs chance decides; from a couple of hundred on, both sides must show.
      if (RUNS >= 200) {
        expect(
          count((status) => status < 300),
          `${operation}: successes`,
        ).toBeGreaterThan(0);
        expect(
          count((status) => status >= 400),
          `${operation}: refusals`,
        ).toBeGreaterThan(0);
      }
    }
  });
});
