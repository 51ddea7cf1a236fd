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
 * Runs per property: FUZZ_RUNS, or DEFAULT_RUNS when empty.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ROLES, type Role, STATUSES } from "../src/db/schema";
import { ERRORS } from "../src/lib/errors";
import {
  acceptAs,
  api,
  BASE,
  caller,
  createWithLink,
  databaseSnapshot,
  freezeClock,
  signToken,
} from "./helpers";

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
// The two organizations
// ---------------------------------------------------------------------------------------------

const ATTACKER_ORG = crypto.randomUUID();
const VICTIM_ORG = crypto.randomUUID();

/** Long random tags: no generated string can contain them by chance. */
const victimTag = crypto.randomUUID().replaceAll("-", "");
const VICTIM_ADMIN_SUB = `victim-admin-${victimTag}`;
const VICTIM_INVITEE_SUB = `victim-invitee-${victimTag}`;
const victimEmail = (n: number) => `victim-${n}-${victimTag}@victim-corp.example`;

/** Everything of the victim's that must never reach the attacker; filled in by `beforeAll`. */
const victim = {
  ids: [] as string[],
  markers: [VICTIM_ORG, VICTIM_ADMIN_SUB, VICTIM_INVITEE_SUB] as string[],
};

/** Subs the attacker's members sign as; the odd ones are valid claims too. */
const ATTACKER_SUBS = ["attacker-admin", "attacker-operator", "Ünïcødé ☃ user", "x".repeat(255)] as const;

/**
 * Invitations the attacker knows about (seeded, or returned by a successful create or resend),
 * newest last. Runs pick from it by index counted from the newest; fast-check favours small
 * numbers, so recent invitations come up most.
 */
const known: { id: string; email: string; token: string }[] = [];

function knownAt(pick: number) {
  return known[known.length - 1 - (pick % known.length)] ?? { id: "", email: "", token: "" };
}

// ---------------------------------------------------------------------------------------------
// Request specifications: plain data that fast-check generates, shrinks and prints; resolved into
// a real request only when a run executes (tokens are signed at the run's fake time, and the
// attacker's known invitations grow as the runs go).
// ---------------------------------------------------------------------------------------------

type Operation = "list" | "create" | "bulk" | "lookup" | "get" | "resend" | "revoke" | "accept";

type Variant = "as-is" | "upper" | "padded";

/** A value inside a JSON body or a query string. */
type Value =
  | { kind: "text"; text: string }
  | { kind: "known-email"; variant: Variant }
  | { kind: "known-token" }
  | { kind: "victim-id"; index: number };

type Id =
  | { kind: "known"; upper: boolean }
  | { kind: "victim"; index: number; upper: boolean }
  | { kind: "text"; text: string; encode: boolean };

type Credential =
  | { kind: "none" }
  | { kind: "member"; role: Role; sub: string; scheme: string; upperOrg: boolean }
  | { kind: "invitee"; email: Value; sub: string; verified: boolean | undefined }
  | { kind: "raw"; value: string }
  | { kind: "duplicated"; first: Credential; second: Credential }
  | {
      kind: "crafted";
      header: string;
      claims: "member" | "invitee" | "none";
      overrides: [string, string | null][];
      signature: "valid" | "junk" | "empty";
    };

type Body =
  | { kind: "none" }
  | { kind: "object"; entries: [string, Value][]; inArray: boolean }
  | { kind: "text"; text: string }
  /** A bulk create's envelope: its items are bodies too, and more members may follow. */
  | { kind: "bulk"; items: Body[]; members: [string, Value][] };

type RequestSpec = {
  method: string;
  path: string;
  id: Id | null;
  suffix: string;
  query: [string, Value][];
  encodeQuery: boolean;
  credential: Credential;
  contentType: string | null;
  body: Body;
  headers: [string, string][];
  /** Which known invitation `known-*` values and ids refer to: one per request, so they match. */
  pick: number;
  /** Invite someone first (a setup request, not fuzzed) and pick that invitation. */
  fresh: boolean;
  /** Fake time that passes before the request. */
  elapsedMs: number;
};

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const text = (value: string): Value => ({ kind: "text", text: value });
const json = (value: unknown): Value => text(JSON.stringify(value));

const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));

/** Text a header can carry: the Headers API refuses control characters and non-Latin-1. */
const headerJunk = fc.oneof(
  fc.string({ unit: printableAscii, maxLength: 60 }),
  fc.constantFrom(
    "",
    "Bearer",
    "Bearer ",
    "Bearer  a.b.c",
    "bearer a.b.c",
    "Basic Zm9vOmJhcg==",
    "Bearer a.b.c, Bearer d.e.f",
    "Bearer ....",
    "Bearer a.b.c.d",
    "Bearer ===.===.===",
    "Bearer eyJhbGciOiJub25lIn0.e30.",
    "Token abc",
    "Bearer null",
  ),
  fc.integer({ min: 1, max: 12_000 }).map((n) => `Bearer ${"A".repeat(n)}`),
);

const percentJunk = fc.constantFrom(
  "%",
  "%%",
  "%zz",
  "%E0%A4%A",
  "%C0%AF",
  "%00",
  "%FF%FE",
  "%2F",
  "%2C",
  "%26",
  "%3D",
  "%252F",
  "%u0041",
  "%F0%9F%98",
  "%ED%A0%80",
  "%0D%0A",
);

const hugeText = fc
  .tuple(fc.constantFrom("a", "é", "%", "💥", ",", "PENDING,"), fc.integer({ min: 300, max: 8_000 }))
  .map(([unit, n]) => unit.repeat(n));

/** Random strings of every kind: ASCII, full Unicode, percent-encoding debris, huge. */
const junkString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 2, arbitrary: percentJunk },
  { weight: 1, arbitrary: fc.webSegment() },
  { weight: 1, arbitrary: hugeText },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "null", "undefined", "NaN", "-0", "[]", "{}", "\u0000") },
);

/** JSON values of every type, as body values. */
const junkJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  junkString.map((value) => JSON.stringify(value)),
  fc.constantFrom("null", "true", "0", "-1", "1e308", "[]", "{}", '{"__proto__":{"polluted":true}}'),
);

const freshEmail = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{6,12}$/),
    fc.constantFrom("example.com", "attacker.example", "mail.example.org"),
  )
  .map(([local, domain]) => `fz-${local}@${domain}`);

const variant = fc.constantFrom<Variant>("as-is", "as-is", "upper", "padded");

const emailValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 14, arbitrary: fc.tuple(freshEmail, variant).map(([email, v]) => json(vary(email, v))) },
  { weight: 4, arbitrary: variant.map((v): Value => ({ kind: "known-email", variant: v })) },
  { weight: 1, arbitrary: fc.emailAddress().map(json) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      json(`${"a".repeat(65)}@example.com`),
      json(`${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.co`),
      json(`a@${"b".repeat(250)}.co`),
      json("a@localhost"),
      json('"a b"@example.org'),
      json("a@[192.0.2.1]"),
      json("ünï@exämple.com"),
      json("a@b"),
      json("@example.com"),
      json("a@@example.com"),
      json("a..b@example.com"),
      json("a@example.com\n"),
    ),
  },
  { weight: 2, arbitrary: junkJson.map(text) },
);

const roleValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROLES).map(json) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("org_admin", "ADMIN", "ORG_ADMIN ", "", "OWNER", "PENDING", "__proto__")
      .map(json),
  },
  { weight: 1, arbitrary: junkJson.map(text) },
);

const daysValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -3, max: 35 }).map(json) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("1.5", '"7"', "1e1", "-0", "30.0", "1e308", "9007199254740993").map(text),
  },
  { weight: 1, arbitrary: junkJson.map(text) },
);

const tokenValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Value>({ kind: "known-token" }) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map(json) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{42}$|^[A-Za-z0-9_-]{44}$/).map(json) },
  { weight: 2, arbitrary: junkJson.map(text) },
);

/** Keys that try to smuggle in fields, pollute prototypes or merely be unknown. */
const hostileKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "organizationId",
    "status",
    "invitedBy",
    "id",
    "token",
    "email",
    "role",
    "rol",
    "expiresInDays",
    "acceptedBy",
    "",
  ),
  fc.string({ maxLength: 12 }),
);

const hostileEntry: fc.Arbitrary<[string, Value]> = fc.tuple(
  hostileKey,
  fc.oneof(
    junkJson.map(text),
    fc.constantFrom(
      text('{"role":"ORG_ADMIN","polluted":true}'),
      text('{"prototype":{"polluted":true}}'),
      text('{"organizationId":"00000000-0000-4000-8000-000000000000"}'),
    ),
    fc.nat({ max: 10 }).map((index): Value => ({ kind: "victim-id", index })),
  ),
);

const extraEntries = fc.oneof(
  { weight: 5, arbitrary: fc.constant<[string, Value][]>([]) },
  { weight: 1, arbitrary: fc.array(hostileEntry, { minLength: 1, maxLength: 3 }) },
);

/** Whole bodies that are no object at all: arrays, scalars, broken or deep JSON, text, huge. */
const hostileBodyText = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "",
      "{",
      "}",
      "{'email': 'a@example.com'}",
      "email=a%40example.com&role=ORG_ADMIN",
      "null",
      "undefined",
      "NaN",
      '{"email":}',
      '\ufeff{"email":"bom@example.com"}',
      '{"email":"a@example.com"} {"email":"b@example.com"}',
      '{"email":"a@example.com",}',
      '{"email":"a@example.com","email":"b@example.com"}',
      '{"__proto__":{"role":"ORG_ADMIN"},"email":"proto@example.com"}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","__proto__":null}',
    ),
  },
  // Deep nesting, up to what still fits under the 16 KiB body limit.
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 7_000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 1_700 })
      .map((n) => `${'{"email":'.repeat(n)}"deep@example.com"${"}".repeat(n)}`),
  },
  // Over the limit.
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc
        .integer({ min: 16_000, max: 40_000 })
        .map((n) => JSON.stringify({ email: `${"a".repeat(n)}@example.com` })),
      fc.integer({ min: 16_300, max: 20_000 }).map((n) => " ".repeat(n)),
    ),
  },
);

function objectBody(entries: fc.Arbitrary<[string, Value][]>): fc.Arbitrary<Body> {
  return fc.oneof(
    {
      weight: 16,
      arbitrary: fc.tuple(entries, extraEntries, fc.boolean(), fc.nat({ max: 15 })).map(
        ([fields, extras, extrasFirst, wrap]): Body => ({
          kind: "object",
          entries: extrasFirst ? [...extras, ...fields] : [...fields, ...extras],
          // Now and then the right object where it does not belong: inside an array.
          inArray: wrap === 0,
        }),
      ),
    },
    { weight: 3, arbitrary: hostileBodyText.map((value): Body => ({ kind: "text", text: value })) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: "none" }) },
  );
}

const createBody = objectBody(
  fc
    .record({
      email: fc.option(emailValue, { freq: 12, nil: undefined }),
      role: fc.option(roleValue, { freq: 3, nil: undefined }),
      expiresInDays: fc.option(daysValue, { freq: 2, nil: undefined }),
    })
    .map((fields) =>
      Object.entries(fields).filter((entry): entry is [string, Value] => entry[1] !== undefined),
    ),
);

/** Bulk bodies: mostly the envelope around create bodies, sometimes with a flag or stray members. */
const bulkBody = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(
        fc.array(createBody, { minLength: 0, maxLength: 6 }),
        fc.option(fc.constantFrom(text("true"), text("false"), text('"true"'), text("1"), text("null")), {
          freq: 3,
          nil: undefined,
        }),
        fc.oneof(
          { weight: 6, arbitrary: fc.constant<[string, Value][]>([]) },
          { weight: 1, arbitrary: extraEntries },
        ),
      )
      .map(
        ([items, dryRun, extras]): Body => ({
          kind: "bulk",
          items,
          members: dryRun === undefined ? extras : [["dryRun", dryRun], ...extras],
        }),
      ),
  },
  // A single create's body sent here, or hostile text.
  { weight: 2, arbitrary: createBody },
);

const acceptBody = objectBody(
  fc.option(tokenValue, { freq: 15, nil: undefined }).map((token) => (token ? [["token", token]] : [])),
);

/** A body where none belongs (GET routes drop it; revoke and resend take none). */
const strayBody = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Body>({ kind: "none" }) },
  { weight: 1, arbitrary: hostileBodyText.map((value): Body => ({ kind: "text", text: value })) },
);

const contentType = fc.oneof(
  { weight: 24, arbitrary: fc.constant<string | null>("application/json") },
  {
    weight: 4,
    arbitrary: fc.constantFrom<string | null>(
      null,
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/merge-patch+json",
      "application/json, text/plain",
      "application/jsonx",
      "json",
      "",
      "application/json; charset=utf-16",
    ),
  },
  { weight: 1, arbitrary: headerJunk },
);

/** Methods: the operation's own, now and then another; never HEAD or OPTIONS, which answer without a body. */
function method(own: string) {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(own) },
    { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE") },
  );
}

const memberCredential: fc.Arbitrary<Credential> = fc.record({
  kind: fc.constant("member" as const),
  // Every role, admins most often: only they get past the role check of the writes.
  role: fc.constantFrom<Role>("ORG_ADMIN", "ORG_ADMIN", "ORG_ADMIN", "OPERATOR", "VIEWER"),
  sub: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(ATTACKER_SUBS[0], ATTACKER_SUBS[1]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...ATTACKER_SUBS),
    },
  ),
  scheme: fc.constantFrom("Bearer", "Bearer", "Bearer", "bearer", "BEARER", "Bearer  "),
  upperOrg: fc.boolean(),
});

const inviteeCredential: fc.Arbitrary<Credential> = fc.record({
  kind: fc.constant("invitee" as const),
  email: fc.oneof(
    { weight: 6, arbitrary: variant.map((v): Value => ({ kind: "known-email", variant: v })) },
    { weight: 2, arbitrary: freshEmail.map(text) },
    { weight: 1, arbitrary: junkString.map(text) },
  ),
  sub: fc.constantFrom("attacker-invitee", "attacker-invitee-2", "ü-invitee"),
  verified: fc.constantFrom(true, true, undefined, undefined, false),
});

/** Claims to replace (a raw JSON value) or remove (null) in an otherwise well-formed token. */
const claimOverride: fc.Arbitrary<[string, string | null]> = fc.tuple(
  fc.constantFrom(
    "sub",
    "org_id",
    "role",
    "exp",
    "nbf",
    "iat",
    "email",
    "email_verified",
    "iss",
    "aud",
    "__proto__",
  ),
  fc.oneof(
    fc.constant(null),
    junkJson,
    fc.constantFrom(
      '"ORG_ADMIN"',
      '"org_admin"',
      '"SUPERUSER"',
      '["ORG_ADMIN"]',
      `"${ATTACKER_ORG.toUpperCase()}"`,
      '"not-a-uuid"',
      "9999999999",
      '"9999999999"',
      "1e400",
      "-1",
      '{"role":"ORG_ADMIN"}',
    ),
  ),
);

/** Tokens made by hand: any header, claims of any type, signed with the real secret or not. */
const craftedCredential: fc.Arbitrary<Credential> = fc.record({
  kind: fc.constant("crafted" as const),
  header: fc.oneof(
    { weight: 6, arbitrary: fc.constant('{"alg":"HS256","typ":"JWT"}') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '{"alg":"HS256"}',
        '{"alg":"none","typ":"JWT"}',
        '{"alg":"HS512","typ":"JWT"}',
        '{"alg":"RS256","typ":"JWT","kid":"k1"}',
        '{"alg":"ES256","kid":1}',
        '{"alg":"HS256","typ":"JWT","crit":["exp"]}',
        '{"alg":"HS256","typ":"jwt+at"}',
        '{"alg":["HS256"]}',
        '{"alg":"HS256","__proto__":{"alg":"none"}}',
        "null",
        "[]",
        "0",
        '"HS256"',
        "{",
        "",
      ),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)) },
  ),
  claims: fc.constantFrom("member", "member", "invitee", "none"),
  overrides: fc.array(claimOverride, { maxLength: 3 }),
  signature: fc.constantFrom("valid", "valid", "valid", "junk", "empty"),
});

const otherCredential: fc.Arbitrary<Credential> = fc.oneof(
  fc.constant<Credential>({ kind: "none" }),
  headerJunk.map((value): Credential => ({ kind: "raw", value })),
  fc.tuple(fc.oneof(memberCredential, inviteeCredential), fc.oneof(memberCredential, headerJunk)).map(
    ([first, second]): Credential => ({
      kind: "duplicated",
      first,
      second: typeof second === "string" ? { kind: "raw", value: second } : second,
    }),
  ),
);

/** Whom an operation is called by: mostly its proper kind of caller, with a random role. */
function credential(caller: "member" | "invitee" | "anonymous"): fc.Arbitrary<Credential> {
  const proper = { member: memberCredential, invitee: inviteeCredential, anonymous: otherCredential }[caller];
  const improper = caller === "member" ? inviteeCredential : memberCredential;
  return fc.oneof(
    { weight: 24, arbitrary: proper },
    { weight: 2, arbitrary: otherCredential },
    { weight: 2, arbitrary: craftedCredential },
    { weight: 1, arbitrary: improper },
  );
}

const anyId: fc.Arbitrary<Id> = fc.oneof(
  { weight: 10, arbitrary: fc.boolean().map((upper): Id => ({ kind: "known", upper })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.nat({ max: 10 }), fc.boolean())
      .map(([index, upper]): Id => ({ kind: "victim", index, upper })),
  },
  { weight: 2, arbitrary: fc.uuid().map((value): Id => ({ kind: "text", text: value, encode: true })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.oneof(
          junkString,
          fc.constantFrom(
            "lookup",
            "accept",
            "..",
            ".",
            "%2E%2E",
            "..%2F..%2Finvitations",
            "%2F",
            "a%2Fresend",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "497f6eca-6276-4993-bfeb-53cbbbba6f08/",
            "{id}",
            "null",
            "' OR '1'='1",
            "1; DROP TABLE invitations",
          ),
          fc.integer({ min: 37, max: 9_000 }).map((n) => "9".repeat(n)),
          fc.uuid().map((uuid) => `${uuid}${uuid}`),
        ),
        fc.boolean(),
      )
      .map(([value, encode]): Id => ({ kind: "text", text: value, encode })),
  },
);

/** The list's own parameters with valid and invalid values, and unknown ones. */
const listParam: fc.Arbitrary<[string, Value]> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom("page", "limit"),
        fc.oneof(
          fc.integer({ min: -2, max: 120 }).map(String),
          fc.constantFrom(
            "1",
            "100",
            "101",
            "0",
            "1.5",
            "1e1",
            "0x10",
            " 2",
            "2 ",
            "+1",
            "",
            "99999999999999999999",
            "9007199254740991",
            "9007199254740992",
          ),
          junkString,
        ),
      )
      .map(([key, value]): [string, Value] => [key, text(value)]),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom("status", "role"),
        fc.oneof(
          fc.subarray([...STATUSES, ...ROLES]).map((values) => values.join(",")),
          fc.constantFrom("pending", "PENDING,", ",", "PENDING,,EXPIRED", "ORG_ADMIN,EXPIRED", ""),
          junkString,
        ),
      )
      .map(([key, value]): [string, Value] => [key, text(value)]),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        "createdAt",
        "-createdAt",
        "expiresAt",
        "-expiresAt",
        "email",
        "-email",
        "--email",
        "id",
        "",
      )
      .map((value): [string, Value] => ["sort", text(value)]),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      variant.map((v): [string, Value] => ["email", { kind: "known-email", variant: v }]),
      fc.oneof(freshEmail, junkString).map((value): [string, Value] => ["email", text(value)]),
      // Probing for the victim's data by filter: allowed to ask, never to learn.
      fc.nat({ max: 3 }).map((n): [string, Value] => ["email", text(victimEmail(n))]),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc
        .constantFrom(...ATTACKER_SUBS, VICTIM_ADMIN_SUB)
        .map((value): [string, Value] => ["invitedBy", text(value)]),
      junkString.map((value): [string, Value] => ["invitedBy", text(value)]),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(junkString, junkString).map(([key, value]): [string, Value] => [key, text(value)]),
  },
);

const lookupParam: fc.Arbitrary<[string, Value]> = fc.oneof(
  { weight: 8, arbitrary: tokenValue.map((value): [string, Value] => ["token", unquote(value)]) },
  {
    weight: 1,
    arbitrary: fc.tuple(junkString, junkString).map(([key, value]): [string, Value] => [key, text(value)]),
  },
);

/** Junk parameters on operations that read none: they must be ignored. */
const strayQuery = fc.oneof(
  { weight: 6, arbitrary: fc.constant<[string, Value][]>([]) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.tuple(junkString, junkString).map(([key, value]): [string, Value] => [key, text(value)]),
      { minLength: 1, maxLength: 3 },
    ),
  },
);

/** Headers beyond Authorization and Content-Type: read-replication bookmarks, spoofed IPs, junk. */
const extraHeaders = fc.oneof(
  { weight: 10, arbitrary: fc.constant<[string, string][]>([]) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.oneof(
        headerJunk.map((value): [string, string] => ["x-d1-bookmark", value]),
        fc
          .stringMatching(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/)
          .map((value): [string, string] => ["x-d1-bookmark", value]),
        headerJunk.map((value): [string, string] => ["CF-Connecting-IP", value]),
        headerJunk.map((value): [string, string] => ["Idempotency-Key", value]),
        fc.constantFrom<[string, string]>(
          ["X-HTTP-Method-Override", "DELETE"],
          ["Origin", "https://evil.example"],
          ["Accept", "text/html"],
          ["Content-Encoding", "gzip"],
          ["Transfer-Encoding", "chunked"],
        ),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  },
);

/** Fake time passing before a request: mostly none, sometimes past the resend cooldown, rarely days. */
function elapsed(cooldownWeight: number) {
  return fc.oneof(
    { weight: 40, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
    { weight: cooldownWeight, arbitrary: fc.integer({ min: 60_000, max: 120_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 86_400_000, max: 2 * 86_400_000 }) },
  );
}

function request(options: {
  method: string;
  path: fc.Arbitrary<string>;
  id?: fc.Arbitrary<Id>;
  suffix?: fc.Arbitrary<string>;
  query?: fc.Arbitrary<[string, Value][]>;
  credential: fc.Arbitrary<Credential>;
  body: fc.Arbitrary<Body>;
  cooldownWeight?: number;
  /** How often (out of 3) a run first makes a fresh invitation to work on. */
  freshWeight?: number;
}): fc.Arbitrary<RequestSpec> {
  const freshWeight = options.freshWeight ?? 0;
  return fc.record({
    method: method(options.method),
    path: options.path,
    id: options.id ?? fc.constant(null),
    suffix: options.suffix ?? fc.constant(""),
    query: options.query ?? strayQuery,
    encodeQuery: fc.oneof(
      { weight: 3, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    credential: options.credential,
    contentType,
    body: options.body,
    headers: extraHeaders,
    pick: fc.nat({ max: 1_000 }),
    fresh:
      freshWeight === 0
        ? fc.constant(false)
        : fc.oneof(
            { weight: 3 - freshWeight, arbitrary: fc.constant(false) },
            { weight: freshWeight, arbitrary: fc.constant(true) },
          ),
    elapsedMs: elapsed(options.cooldownWeight ?? 1),
  });
}

const COLLECTION = fc.constantFrom("/api/v1/invitations", "/api/v1/invitations", "/api/v1/invitations/");
const ITEM = fc.constant("/api/v1/invitations/");

const requests: Record<Operation, fc.Arbitrary<RequestSpec>> = {
  list: request({
    method: "GET",
    path: COLLECTION,
    query: fc.array(listParam, { maxLength: 6 }),
    credential: credential("member"),
    body: strayBody,
  }),
  create: request({ method: "POST", path: COLLECTION, credential: credential("member"), body: createBody }),
  bulk: request({
    method: "POST",
    path: fc.constantFrom("/api/v1/invitations/bulk", "/api/v1/invitations/bulk/"),
    credential: credential("member"),
    body: bulkBody,
  }),
  lookup: request({
    method: "GET",
    path: fc.constantFrom("/api/v1/invitations/lookup", "/api/v1/invitations/lookup/"),
    query: fc.oneof(
      { weight: 6, arbitrary: lookupParam.map((param) => [param]) },
      { weight: 2, arbitrary: fc.array(lookupParam, { maxLength: 4 }) },
    ),
    credential: credential("anonymous"),
    body: strayBody,
    freshWeight: 1,
  }),
  get: request({
    method: "GET",
    path: ITEM,
    id: anyId,
    credential: credential("member"),
    body: strayBody,
    freshWeight: 1,
  }),
  resend: request({
    method: "POST",
    path: ITEM,
    id: anyId,
    suffix: fc.oneof(
      { weight: 8, arbitrary: fc.constant("/resend") },
      { weight: 1, arbitrary: fc.constantFrom("/resend/", "/RESEND", "/resend/extra") },
    ),
    credential: credential("member"),
    body: strayBody,
    cooldownWeight: 12,
    freshWeight: 1,
  }),
  revoke: request({
    method: "DELETE",
    path: ITEM,
    id: anyId,
    suffix: fc.constantFrom("", "", "", "/"),
    credential: credential("member"),
    body: strayBody,
    freshWeight: 1,
  }),
  accept: request({
    method: "POST",
    path: fc.constantFrom("/api/v1/invitations/accept", "/api/v1/invitations/accept/"),
    credential: credential("invitee"),
    body: acceptBody,
    freshWeight: 1,
  }),
};

// ---------------------------------------------------------------------------------------------
// Turning a specification into a request
// ---------------------------------------------------------------------------------------------

function vary(email: string, how: Variant): string {
  if (how === "upper") return email.toUpperCase();
  if (how === "padded") return `  ${email}\t`;
  return email;
}

/** A body value turned into a query value: the string itself rather than its JSON. */
function unquote(value: Value): Value {
  if (value.kind !== "text") return value;
  try {
    const parsed: unknown = JSON.parse(value.text);
    return typeof parsed === "string" ? text(parsed) : value;
  } catch {
    return value;
  }
}

/** A value as a plain string (query) given the request's pick. */
function valueString(value: Value, pick: number): string {
  switch (value.kind) {
    case "text":
      return value.text;
    case "known-email":
      return vary(knownAt(pick).email, value.variant);
    case "known-token":
      return knownAt(pick).token;
    case "victim-id":
      return victim.ids[value.index % victim.ids.length] ?? "";
  }
}

/** A value as JSON text (body). */
function valueJson(value: Value, pick: number): string {
  return value.kind === "text" ? value.text : JSON.stringify(valueString(value, pick));
}

function idString(spec: Id, pick: number): string {
  switch (spec.kind) {
    case "known": {
      const value = knownAt(pick).id;
      return spec.upper ? value.toUpperCase() : value;
    }
    case "victim": {
      const value = victim.ids[spec.index % victim.ids.length] ?? "";
      return spec.upper ? value.toUpperCase() : value;
    }
    case "text":
      return spec.encode ? encodeComponent(spec.text) : spec.text;
  }
}

/** Percent-encodes, or leaves the text raw when it cannot be encoded (a lone surrogate). */
function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}

function bodyText(body: Body, pick: number): string | undefined {
  switch (body.kind) {
    case "none":
      return undefined;
    case "text":
      return body.text;
    case "object": {
      // Written out by hand so that duplicate and `__proto__` keys reach the Worker as sent.
      const members = body.entries.map(([key, value]) => `${JSON.stringify(key)}:${valueJson(value, pick)}`);
      const object = `{${members.join(",")}}`;
      return body.inArray ? `[${object}]` : object;
    }
    case "bulk": {
      const items = body.items.map((item) => bodyText(item, pick) ?? "null");
      const members = body.members.map(([key, value]) => `${JSON.stringify(key)}:${valueJson(value, pick)}`);
      return `{${[`"invitations":[${items.join(",")}]`, ...members].join(",")}}`;
    }
  }
}

const encoder = new TextEncoder();

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

let hmacKey: Promise<CryptoKey> | undefined;

/** An HS256 signature with the Worker's own secret, over any bytes at all. */
async function hs256(input: string): Promise<string> {
  hmacKey ??= crypto.subtle.importKey(
    "raw",
    encoder.encode(env.JWT_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return base64Url(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey, encoder.encode(input))));
}

async function craftedToken(spec: Extract<Credential, { kind: "crafted" }>, pick: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = { sub: "attacker-admin", iat: now, exp: now + 3600 };
  if (spec.claims === "member") Object.assign(base, { org_id: ATTACKER_ORG, role: "ORG_ADMIN" });
  if (spec.claims === "invitee") Object.assign(base, { email: knownAt(pick).email });
  const members = new Map(Object.entries(base).map(([key, value]) => [key, JSON.stringify(value)]));
  for (const [key, value] of spec.overrides) {
    if (value === null) members.delete(key);
    else members.set(key, value);
  }
  const payload = `{${[...members].map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
  const signingInput = `${base64Url(encoder.encode(spec.header))}.${base64Url(encoder.encode(payload))}`;
  const signature = {
    valid: () => hs256(signingInput),
    junk: async () => "c2lnbmF0dXJl",
    empty: async () => "",
  };
  return `${signingInput}.${await signature[spec.signature]()}`;
}

/** The Authorization header values a credential sends, in order (two when duplicated). */
async function authorization(spec: Credential, pick: number): Promise<string[]> {
  switch (spec.kind) {
    case "none":
      return [];
    case "raw":
      return [spec.value];
    case "member": {
      const org = spec.upperOrg ? ATTACKER_ORG.toUpperCase() : ATTACKER_ORG;
      return [`${spec.scheme} ${await signToken({ role: spec.role, org, sub: spec.sub })}`];
    }
    case "invitee": {
      const claims = {
        email: valueString(spec.email, pick),
        email_verified: spec.verified,
        org_id: undefined,
        role: undefined,
      };
      return [`Bearer ${await signToken({ sub: spec.sub, claims })}`];
    }
    case "duplicated":
      return [...(await authorization(spec.first, pick)), ...(await authorization(spec.second, pick))];
    case "crafted":
      return [`Bearer ${await craftedToken(spec, pick)}`];
  }
}

async function build(spec: RequestSpec): Promise<{ url: string; init: RequestInit; sent: string }> {
  const pick = spec.fresh ? 0 : spec.pick;
  const query = spec.query
    .map(([key, value]) => {
      const raw = valueString(value, pick);
      return spec.encodeQuery ? `${encodeComponent(key)}=${encodeComponent(raw)}` : `${key}=${raw}`;
    })
    .join("&");
  const path = `${spec.path}${spec.id ? idString(spec.id, pick) : ""}${spec.suffix}`;
  const url = `${BASE}${path}${query ? `?${query}` : ""}`;

  const headers = new Headers();
  // `append`, not `set`: a duplicated Authorization reaches the Worker as both values.
  for (const value of await authorization(spec.credential, pick)) headers.append("Authorization", value);
  if (spec.contentType !== null) headers.set("Content-Type", spec.contentType);
  for (const [name, value] of spec.headers) headers.append(name, value);
  // GET and HEAD cannot carry a body.
  const body = spec.method === "GET" ? undefined : bodyText(spec.body, pick);

  const sent = [url, ...[...headers].map(([name, value]) => `${name}: ${value}`), body ?? ""].join("\n");
  return { url, init: { method: spec.method, headers, body }, sent };
}

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
