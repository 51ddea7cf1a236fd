import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { hashInvitationToken } from "../src/invitations/invitation-token";
import {
  api,
  caller,
  countAllRows,
  createdInvitation,
  createdRow,
  createWithLink,
  expectError,
  freezeClock,
  type Invitation,
  type InvitationWithLink,
  inviteeToken,
  iso,
  MINUTE,
  newOrgId,
  resentInvitation,
  resentRows,
  restoreAfterEach,
  type StoredRow,
  storedRows,
} from "./helpers";

/*
 * Fields only the server sets. Create, accept and resend have strict bodies: an unknown field is
 * refused with 400 VALIDATION_ERROR naming it, and nothing is written. Revoke takes no body at
 * all: whatever one says is never read, and it succeeds with the server's own values. Either way
 * no client value reaches storage.
 */

const ADMIN_SUB = "user_a_admin";
const INVITEE = "invitee@example.com";
const ATTACKER = "user_attacker";
/** A well-formed link secret the client picked: it must never come to open anything. */
const CHOSEN_TOKEN = "C".repeat(43);

/** The frozen "now" of the running test. */
let now: number;

beforeEach(() => {
  now = freezeClock();
});

restoreAfterEach();

/**
 * Organization A with one invitation sent two minutes ago (past the resend cooldown) and an admin
 * whose token is valid now; organization B with an invitation of its own, whose ids the client
 * tries to write into A's requests.
 */
async function scene() {
  freezeClock(now - 2 * MINUTE);
  const setUpAdmin = await caller("ORG_ADMIN", newOrgId(), ADMIN_SUB);
  const target = await createWithLink(setUpAdmin, INVITEE);
  const otherAdmin = await caller("ORG_ADMIN", newOrgId(), "user_b_admin");
  const other = await createWithLink(otherAdmin, "other@example.com");
  freezeClock(now);
  return {
    admin: await caller("ORG_ADMIN", setUpAdmin.org, ADMIN_SUB),
    target,
    other: { org: otherAdmin.org, id: other.id },
  };
}

type Scene = Awaited<ReturnType<typeof scene>>;

/** Every field the server alone sets, in camelCase and as the column is named, with a client's value. */
const serverOnly: [string, (s: Scene) => unknown][] = [
  ["organizationId", (s) => s.other.org],
  ["organization_id", (s) => s.other.org],
  ["status", () => "ACCEPTED"],
  ["invitedBy", () => ATTACKER],
  ["invited_by", () => ATTACKER],
  ["createdAt", () => "2000-01-01T00:00:00.000Z"],
  ["created_at", () => Date.UTC(2000, 0, 1)],
  ["updatedAt", () => "2000-01-01T00:00:00.000Z"],
  ["updated_at", () => Date.UTC(2000, 0, 1)],
  ["expiresAt", () => "2099-12-31T00:00:00.000Z"],
  ["expires_at", () => Date.UTC(2099, 11, 31)],
  ["acceptedAt", () => "2000-01-01T00:00:00.000Z"],
  ["accepted_at", () => Date.UTC(2000, 0, 1)],
  ["acceptedBy", () => ATTACKER],
  ["accepted_by", () => ATTACKER],
  ["revokedAt", () => "2000-01-01T00:00:00.000Z"],
  ["revoked_at", () => Date.UTC(2000, 0, 1)],
  ["revokedBy", () => ATTACKER],
  ["revoked_by", () => ATTACKER],
  ["declinedAt", () => "2000-01-01T00:00:00.000Z"],
  ["declined_at", () => Date.UTC(2000, 0, 1)],
  ["declinedBy", () => ATTACKER],
  ["declined_by", () => ATTACKER],
  ["id", (s) => s.other.id],
  ["token", () => CHOSEN_TOKEN],
  ["tokenHash", () => hashInvitationToken(CHOSEN_TOKEN)],
  ["token_hash", () => hashInvitationToken(CHOSEN_TOKEN)],
  ["resendCount", () => 99],
  ["resend_count", () => 99],
  ["lastSentAt", () => "2000-01-01T00:00:00.000Z"],
  ["last_sent_at", () => Date.UTC(2000, 0, 1)],
  ["delivery", () => ({ status: "SENT", attempts: 1, lastAttemptAt: null, sentAt: null, lastError: null })],
  ["delivery_status", () => "SENT"],
  ["inviterName", () => "Mallory"],
  ["organization_name", () => "Evil Corp"],
];

async function clientValues(s: Scene, keys: readonly string[]): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of serverOnly) if (keys.includes(key)) values[key] = await value(s);
  return values;
}

/** A JSON object text with `key` set to the JSON text `value`: for `__proto__`, which a literal cannot carry. */
function jsonWith(base: Record<string, unknown>, key: string, value: string): string {
  const members = Object.entries(base).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return `{${[...members, `${JSON.stringify(key)}:${value}`].join(",")}}`;
}

function withoutLink({ token: _token, inviteUrl: _url, ...invitation }: InvitationWithLink): Invitation {
  return invitation;
}

type Operation = {
  name: string;
  /** Its own body fields, which the client does set. */
  own: readonly string[];
  /** True: unknown body fields are refused (400). False: the body is not read at all. */
  strict: boolean;
  base: (s: Scene) => Record<string, unknown>;
  send: (s: Scene, body: string, query?: string) => Promise<Response>;
  /** The success the base request gets: the response and every stored value the server's own. */
  succeeds: (res: Response, s: Scene, before: StoredRow[]) => Promise<void>;
};

async function post(path: string, token: string, body: string, method = "POST") {
  return api(path, { method, token, body, headers: { "Content-Type": "application/json" } });
}

const create: Operation = {
  name: "create (POST /invitations)",
  own: ["email", "role", "expiresInDays"],
  strict: true,
  base: () => ({ email: "new@example.com" }),
  send: (s, body, query = "") => post(`/api/v1/invitations${query}`, s.admin.token, body),
  succeeds: async (res, s, before) => {
    expect(res.status).toBe(201);
    const created = await res.json<InvitationWithLink>();
    expect(created).toEqual({
      ...createdInvitation(
        now,
        { organizationId: s.admin.org, email: "new@example.com", role: "VIEWER", invitedBy: ADMIN_SUB },
        `${env.INVITE_URL_BASE}?token=${created.token}`,
      ),
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    });
    expect(await storedRows(s.admin.org)).toEqual([...before, await createdRow(now, created)]);
  },
};

const accept: Operation = {
  name: "accept (POST /invitations/accept)",
  own: ["token"],
  strict: true,
  base: (s) => ({ token: s.target.token }),
  send: async (_s, body, query = "") =>
    post(`/api/v1/invitations/accept${query}`, await inviteeToken(INVITEE), body),
  succeeds: async (res, s, before) => {
    expect(res.status).toBe(200);
    const { privateMetadata: _, ...shown } = withoutLink(s.target);
    expect(await res.json()).toEqual({
      ...shown,
      status: "ACCEPTED",
      acceptedAt: iso(now),
      acceptedBy: "user_invitee",
      updatedAt: iso(now),
    });
    expect(await storedRows(s.admin.org)).toEqual(
      before.map((row) => ({
        ...row,
        status: "ACCEPTED",
        accepted_at: now,
        accepted_by: "user_invitee",
        updated_at: now,
      })),
    );
  },
};

const resend: Operation = {
  name: "resend (POST /invitations/{id}/resend)",
  own: [],
  strict: true,
  base: () => ({}),
  send: (s, body, query = "") =>
    post(`/api/v1/invitations/${s.target.id}/resend${query}`, s.admin.token, body),
  succeeds: async (res, s, before) => {
    expect(res.status).toBe(200);
    const resent = await res.json<InvitationWithLink>();
    expect(resent).toEqual(
      resentInvitation(now, withoutLink(s.target), `${env.INVITE_URL_BASE}?token=${resent.token}`),
    );
    expect(await storedRows(s.admin.org)).toEqual(await resentRows(now, before, resent));
  },
};

const revoke: Operation = {
  name: "revoke (DELETE /invitations/{id} with a body)",
  own: [],
  strict: false,
  base: () => ({}),
  send: (s, body, query = "") =>
    post(`/api/v1/invitations/${s.target.id}${query}`, s.admin.token, body, "DELETE"),
  succeeds: async (res, s, before) => {
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Invitation revoked" });
    expect(await storedRows(s.admin.org)).toEqual(
      before.map((row) => ({
        ...row,
        status: "REVOKED",
        revoked_at: now,
        revoked_by: ADMIN_SUB,
        updated_at: now,
      })),
    );
  },
};

const operations = [create, accept, resend, revoke];

function unrecognized(keys: readonly string[]): Record<string, string[]> {
  const quoted = keys.map((key) => `"${key}"`).join(", ");
  return { body: [keys.length === 1 ? `Unrecognized key: ${quoted}` : `Unrecognized keys: ${quoted}`] };
}

/**
 * Sends `body` for `operation` and checks the outcome: refused naming `refusedKeys` (a strict
 * operation's body with extras), or the operation's usual success. Either way B is untouched and
 * the client's chosen link opens nothing.
 */
async function expectServerValuesOnly(
  operation: Operation,
  s: Scene,
  body: string,
  refusedKeys: readonly string[],
  query?: string,
) {
  const before = await storedRows(s.admin.org);
  const otherBefore = await storedRows(s.other.org);
  const total = await countAllRows();
  const res = await operation.send(s, body, query);
  if (operation.strict && refusedKeys.length > 0) {
    await expectError(
      res,
      400,
      "VALIDATION_ERROR",
      "Bad Request",
      "Validation error",
      unrecognized(refusedKeys),
    );
    expect(await storedRows(s.admin.org)).toEqual(before);
    expect(await countAllRows()).toBe(total);
  } else {
    await operation.succeeds(res, s, before);
  }
  expect(await storedRows(s.other.org)).toEqual(otherBefore);
  const lookup = await api(`/api/v1/invitations/lookup?token=${CHOSEN_TOKEN}`);
  await expectError(lookup, 404, "INVITATION_NOT_FOUND", "Not Found", "Invitation not found");
}

describe("mass assignment: fields only the server sets", () => {
  for (const operation of operations) {
    it(`${operation.name} without extra fields succeeds with the server's own values (the control)`, async () => {
      const s = await scene();
      await expectServerValuesOnly(operation, s, JSON.stringify(operation.base(s)), []);
    });
  }

  describe("one field at a time", () => {
    for (const operation of operations) {
      for (const [key] of serverOnly) {
        if (operation.own.includes(key)) continue;
        const outcome = operation.strict
          ? `400 VALIDATION_ERROR naming "${key}", nothing stored`
          : "the body is not read: the usual 200, every stored value the server's own";
        it(`${operation.name} with "${key}": ${outcome}`, async () => {
          const s = await scene();
          const body = { ...operation.base(s), ...(await clientValues(s, [key])) };
          await expectServerValuesOnly(operation, s, JSON.stringify(body), [key]);
        });
      }
    }
  });

  describe("all fields at once, and nested in __proto__ or constructor.prototype", () => {
    for (const operation of operations) {
      const keys = serverOnly.map(([key]) => key).filter((key) => !operation.own.includes(key));

      it(`${operation.name} with every such field: ${operation.strict ? "400 naming each, in order" : "the usual 200"}`, async () => {
        const s = await scene();
        const body = { ...operation.base(s), ...(await clientValues(s, keys)) };
        await expectServerValuesOnly(operation, s, JSON.stringify(body), keys);
      });

      for (const [key, wrap] of [
        ["__proto__", (json: string) => json],
        ["constructor", (json: string) => `{"prototype":${json}}`],
      ] as const) {
        // JSON.parse makes `__proto__` an own property; a merge that walked into it would pollute
        // every object, so a following request would see the client's values as defaults.
        it(`${operation.name} with every such field (and role ORG_ADMIN) nested under "${key}": ${operation.strict ? `400 naming "${key}"` : "the usual 200"}, and a following create gets the server's defaults`, async () => {
          const s = await scene();
          const nested = JSON.stringify({ ...(await clientValues(s, keys)), role: "ORG_ADMIN" });
          await expectServerValuesOnly(operation, s, jsonWith(operation.base(s), key, wrap(nested)), [key]);
          // The Worker runs in this isolate (its Date is the one faked here), so its prototypes are these.
          expect([...keys, "role"].filter((name) => name in {})).toEqual([]);

          const res = await post(
            "/api/v1/invitations",
            s.admin.token,
            JSON.stringify({ email: "after@example.com" }),
          );
          expect(res.status).toBe(201);
          const after = await res.json<InvitationWithLink>();
          expect(after).toMatchObject({
            organizationId: s.admin.org,
            role: "VIEWER",
            status: "PENDING",
            invitedBy: ADMIN_SUB,
            createdAt: iso(now),
            acceptedAt: null,
            acceptedBy: null,
            revokedAt: null,
            revokedBy: null,
            resendCount: 0,
          });
          const stored = (await storedRows(s.admin.org)).find((row) => row.id === after.id);
          expect(stored).toMatchObject({
            role: "VIEWER",
            status: "PENDING",
            invited_by: ADMIN_SUB,
            created_at: now,
          });
        });
      }
    }
  });

  describe("in the query string, where unknown parameters are ignored", () => {
    for (const operation of operations) {
      it(`${operation.name} with every such field as a query parameter: the usual success, every stored value the server's own`, async () => {
        const s = await scene();
        const values = await clientValues(
          s,
          serverOnly.map(([key]) => key),
        );
        const query = `?${new URLSearchParams(Object.entries(values).map(([k, v]) => [k, String(v)]))}`;
        await expectServerValuesOnly(operation, s, JSON.stringify(operation.base(s)), [], query);
      });
    }
  });
});
