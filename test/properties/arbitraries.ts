/*
 * The input generators of test/properties.test.ts: what a request may be, as plain data that
 * fast-check generates, shrinks and prints (`requests`, one arbitrary per operation), with the
 * valid, hostile and junk values each part of a request is drawn from.
 */
import fc from "fast-check";
import { ROLES, type Role, STATUSES } from "../../src/db/schema";
import { ATTACKER_ORG, ATTACKER_SUBS, VICTIM_ADMIN_SUB, victimEmail } from "./scene";

// ---------------------------------------------------------------------------------------------
// Request specifications: plain data that fast-check generates, shrinks and prints; resolved into
// a real request only when a run executes (tokens are signed at the run's fake time, and the
// attacker's known invitations grow as the runs go).
// ---------------------------------------------------------------------------------------------

export type Operation = "list" | "create" | "bulk" | "lookup" | "get" | "resend" | "revoke" | "accept";

export type Variant = "as-is" | "upper" | "padded";

/** A value inside a JSON body or a query string. */
export type Value =
  | { kind: "text"; text: string }
  | { kind: "known-email"; variant: Variant }
  | { kind: "known-token" }
  | { kind: "victim-id"; index: number };

export type Id =
  | { kind: "known"; upper: boolean }
  | { kind: "victim"; index: number; upper: boolean }
  | { kind: "text"; text: string; encode: boolean };

export type Credential =
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

export type Body =
  | { kind: "none" }
  | { kind: "object"; entries: [string, Value][]; inArray: boolean }
  | { kind: "text"; text: string }
  /** A bulk create's envelope: its items are bodies too, and more members may follow. */
  | { kind: "bulk"; items: Body[]; members: [string, Value][] };

export type RequestSpec = {
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

export const text = (value: string): Value => ({ kind: "text", text: value });
export const json = (value: unknown): Value => text(JSON.stringify(value));

export const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));

/** Text a header can carry: the Headers API refuses control characters and non-Latin-1. */
export const headerJunk = fc.oneof(
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

export const percentJunk = fc.constantFrom(
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

export const hugeText = fc
  .tuple(fc.constantFrom("a", "é", "%", "💥", ",", "PENDING,"), fc.integer({ min: 300, max: 8_000 }))
  .map(([unit, n]) => unit.repeat(n));

/** Random strings of every kind: ASCII, full Unicode, percent-encoding debris, huge. */
export const junkString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 2, arbitrary: percentJunk },
  { weight: 1, arbitrary: fc.webSegment() },
  { weight: 1, arbitrary: hugeText },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "null", "undefined", "NaN", "-0", "[]", "{}", "\u0000") },
);

/** JSON values of every type, as body values. */
export const junkJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  junkString.map((value) => JSON.stringify(value)),
  fc.constantFrom("null", "true", "0", "-1", "1e308", "[]", "{}", '{"__proto__":{"polluted":true}}'),
);

export const freshEmail = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{6,12}$/),
    fc.constantFrom("example.com", "attacker.example", "mail.example.org"),
  )
  .map(([local, domain]) => `fz-${local}@${domain}`);

export const variant = fc.constantFrom<Variant>("as-is", "as-is", "upper", "padded");

export const emailValue: fc.Arbitrary<Value> = fc.oneof(
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

export const roleValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROLES).map(json) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("org_admin", "ADMIN", "ORG_ADMIN ", "", "OWNER", "PENDING", "__proto__")
      .map(json),
  },
  { weight: 1, arbitrary: junkJson.map(text) },
);

export const daysValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -3, max: 35 }).map(json) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("1.5", '"7"', "1e1", "-0", "30.0", "1e308", "9007199254740993").map(text),
  },
  { weight: 1, arbitrary: junkJson.map(text) },
);

export const tokenValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Value>({ kind: "known-token" }) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map(json) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{42}$|^[A-Za-z0-9_-]{44}$/).map(json) },
  { weight: 2, arbitrary: junkJson.map(text) },
);

/** Keys that try to smuggle in fields, pollute prototypes or merely be unknown. */
export const hostileKey = fc.oneof(
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

export const hostileEntry: fc.Arbitrary<[string, Value]> = fc.tuple(
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

export const extraEntries = fc.oneof(
  { weight: 5, arbitrary: fc.constant<[string, Value][]>([]) },
  { weight: 1, arbitrary: fc.array(hostileEntry, { minLength: 1, maxLength: 3 }) },
);

/** Whole bodies that are no object at all: arrays, scalars, broken or deep JSON, text, huge. */
export const hostileBodyText = fc.oneof(
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

export function objectBody(entries: fc.Arbitrary<[string, Value][]>): fc.Arbitrary<Body> {
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

export const createBody = objectBody(
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
export const bulkBody = fc.oneof(
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

export const acceptBody = objectBody(
  fc.option(tokenValue, { freq: 15, nil: undefined }).map((token) => (token ? [["token", token]] : [])),
);

/** A body where none belongs (GET routes drop it; revoke and resend take none). */
export const strayBody = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Body>({ kind: "none" }) },
  { weight: 1, arbitrary: hostileBodyText.map((value): Body => ({ kind: "text", text: value })) },
);

export const contentType = fc.oneof(
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
export function method(own: string) {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(own) },
    { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE") },
  );
}

export const memberCredential: fc.Arbitrary<Credential> = fc.record({
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

export const inviteeCredential: fc.Arbitrary<Credential> = fc.record({
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
export const claimOverride: fc.Arbitrary<[string, string | null]> = fc.tuple(
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
export const craftedCredential: fc.Arbitrary<Credential> = fc.record({
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

export const otherCredential: fc.Arbitrary<Credential> = fc.oneof(
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
export function credential(caller: "member" | "invitee" | "anonymous"): fc.Arbitrary<Credential> {
  const proper = { member: memberCredential, invitee: inviteeCredential, anonymous: otherCredential }[caller];
  const improper = caller === "member" ? inviteeCredential : memberCredential;
  return fc.oneof(
    { weight: 24, arbitrary: proper },
    { weight: 2, arbitrary: otherCredential },
    { weight: 2, arbitrary: craftedCredential },
    { weight: 1, arbitrary: improper },
  );
}

export const anyId: fc.Arbitrary<Id> = fc.oneof(
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
export const listParam: fc.Arbitrary<[string, Value]> = fc.oneof(
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

export const lookupParam: fc.Arbitrary<[string, Value]> = fc.oneof(
  { weight: 8, arbitrary: tokenValue.map((value): [string, Value] => ["token", unquote(value)]) },
  {
    weight: 1,
    arbitrary: fc.tuple(junkString, junkString).map(([key, value]): [string, Value] => [key, text(value)]),
  },
);

/** Junk parameters on operations that read none: they must be ignored. */
export const strayQuery = fc.oneof(
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
export const extraHeaders = fc.oneof(
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
export function elapsed(cooldownWeight: number) {
  return fc.oneof(
    { weight: 40, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
    { weight: cooldownWeight, arbitrary: fc.integer({ min: 60_000, max: 120_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 86_400_000, max: 2 * 86_400_000 }) },
  );
}

export function request(options: {
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

export const COLLECTION = fc.constantFrom(
  "/api/v1/invitations",
  "/api/v1/invitations",
  "/api/v1/invitations/",
);
export const ITEM = fc.constant("/api/v1/invitations/");

export const requests: Record<Operation, fc.Arbitrary<RequestSpec>> = {
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

export function vary(email: string, how: Variant): string {
  if (how === "upper") return email.toUpperCase();
  if (how === "padded") return `  ${email}\t`;
  return email;
}

/** A body value turned into a query value: the string itself rather than its JSON. */
export function unquote(value: Value): Value {
  if (value.kind !== "text") return value;
  try {
    const parsed: unknown = JSON.parse(value.text);
    return typeof parsed === "string" ? text(parsed) : value;
  } catch {
    return value;
  }
}
