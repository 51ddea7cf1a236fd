import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  api,
  type Caller,
  caller,
  createWithLink,
  databaseSnapshot,
  expectError,
  fetchWith,
  freezeClock,
  type Invitation,
  type InvitationWithLink,
  list,
  overrideD1,
  restoreAfterEach,
  storedEvents,
  storedRows,
} from "./helpers";

restoreAfterEach();

type Result = {
  index: number;
  email: string | null;
  outcome: string;
  invitation?: InvitationWithLink;
  error?: { code: string; message: string; details: Record<string, string[]> };
};
type BulkBody = {
  dryRun: boolean;
  summary: Record<string, number>;
  results: Result[];
};

function bulk(who: Caller, body: unknown, headers: Record<string, string> = {}) {
  return api("/api/v1/invitations/bulk", { method: "POST", token: who.token, json: body, headers });
}

async function bulkOk(who: Caller, body: unknown): Promise<BulkBody> {
  const res = await bulk(who, body);
  expect(res.status).toBe(200);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  return res.json();
}

const summary = (counts: Partial<Record<string, number>>) => ({
  requested: 0,
  created: 0,
  wouldCreate: 0,
  duplicate: 0,
  alreadyPending: 0,
  limitReached: 0,
  invalid: 0,
  ...counts,
});

const conflict = {
  code: "CONFLICT",
  message: "A pending invitation already exists for this email",
  details: {},
};

describe("POST /api/v1/invitations/bulk", () => {
  it("creates every valid item, in order, each with its own link, exactly as a single create would store it", async () => {
    const admin = await caller();
    const body = await bulkOk(admin, {
      invitations: [
        { email: "Ada@Example.com", role: "OPERATOR" },
        { email: "grace@example.com" },
        { email: "linus@example.com", role: "ORG_ADMIN", expiresInDays: 2 },
      ],
    });
    expect(body.dryRun).toBe(false);
    expect(body.summary).toEqual(summary({ requested: 3, created: 3 }));
    expect(body.results.map((r) => [r.index, r.email, r.outcome, r.invitation?.role])).toEqual([
      [0, "ada@example.com", "created", "OPERATOR"],
      [1, "grace@example.com", "created", "VIEWER"],
      [2, "linus@example.com", "created", "ORG_ADMIN"],
    ]);

    const [first, , third] = body.results.map((r) => r.invitation as InvitationWithLink);
    expect(first).toMatchObject({
      organizationId: admin.org,
      status: "PENDING",
      invitedBy: admin.sub,
      resendCount: 0,
      acceptedAt: null,
    });
    expect(first?.inviteUrl).toBe(`${env.INVITE_URL_BASE}?token=${first?.token}`);
    expect(Date.parse(third?.expiresAt ?? "") - Date.parse(third?.createdAt ?? "")).toBe(2 * 86_400_000);
    expect(new Set(body.results.map((r) => r.invitation?.token)).size).toBe(3);

    // A list and a get show them as stored, the total counts them, and each link opens its own.
    const listed = await list(admin);
    expect(listed.meta.total).toBe(3);
    const byId = new Map(listed.data.map((invitation) => [invitation.id, invitation]));
    for (const { invitation } of body.results) {
      const { token, inviteUrl: _url, ...shown } = invitation as InvitationWithLink;
      expect(byId.get(shown.id)).toEqual(shown);
      const preview = await api(`/api/v1/invitations/lookup?token=${token}`);
      expect((await preview.json<Invitation>()).id).toBe(shown.id);
    }
    expect((await storedEvents(admin.org)).map((event) => event.type)).toEqual([
      "invitation.created",
      "invitation.created",
      "invitation.created",
    ]);
  });

  it("says why each other item was not created: invalid, a repeat in the request, already pending; the rest are created", async () => {
    const admin = await caller();
    const existing = await createWithLink(admin, "taken@example.com");
    const body = await bulkOk(admin, {
      invitations: [
        { email: "new@example.com" },
        { email: "not-an-email" },
        { email: "TAKEN@example.com", role: "OPERATOR" },
        { email: " New@Example.com " },
        { email: "mass@example.com", organizationId: crypto.randomUUID() },
        "just a string",
        { email: "also-new@example.com", role: "OWNER" },
        { email: "fine@example.com", expiresInDays: 3 },
      ],
    });
    expect(body.summary).toEqual(
      summary({ requested: 8, created: 2, duplicate: 1, alreadyPending: 1, invalid: 4 }),
    );
    const results = body.results.map(({ invitation, ...rest }) => ({ ...rest, created: invitation?.email }));
    expect(results).toEqual([
      { index: 0, email: "new@example.com", outcome: "created", created: "new@example.com" },
      {
        index: 1,
        email: null,
        outcome: "invalid",
        error: {
          code: "VALIDATION_ERROR",
          message: "Validation error",
          details: { email: ["Invalid email address"] },
        },
        created: undefined,
      },
      {
        index: 2,
        email: "taken@example.com",
        outcome: "already_pending",
        error: conflict,
        created: undefined,
      },
      {
        index: 3,
        email: "new@example.com",
        outcome: "duplicate",
        error: {
          code: "DUPLICATE_IN_REQUEST",
          message: "The same email address is item 0 of this request",
          details: {},
        },
        created: undefined,
      },
      {
        index: 4,
        email: "mass@example.com",
        outcome: "invalid",
        error: {
          code: "VALIDATION_ERROR",
          message: "Validation error",
          details: { item: ['Unrecognized key: "organizationId"'] },
        },
        created: undefined,
      },
      {
        index: 5,
        email: null,
        outcome: "invalid",
        error: {
          code: "VALIDATION_ERROR",
          message: "Validation error",
          details: { item: ["Invalid input: expected object, received string"] },
        },
        created: undefined,
      },
      {
        index: 6,
        email: "also-new@example.com",
        outcome: "invalid",
        error: {
          code: "VALIDATION_ERROR",
          message: "Validation error",
          details: { role: ['Invalid option: expected one of "ORG_ADMIN"|"OPERATOR"|"VIEWER"'] },
        },
        created: undefined,
      },
      { index: 7, email: "fine@example.com", outcome: "created", created: "fine@example.com" },
    ]);

    const rows = await storedRows(admin.org);
    expect(rows.map((row) => [row.email, row.status]).sort()).toEqual([
      ["fine@example.com", "PENDING"],
      ["new@example.com", "PENDING"],
      ["taken@example.com", "PENDING"],
    ]);
    // The pending one it met is untouched.
    expect(rows.find((row) => row.id === existing.id)?.role).toBe("VIEWER");
  });

  it("with dryRun writes nothing and issues no link, reporting what would happen now", async () => {
    const admin = await caller();
    await createWithLink(admin, "taken@example.com");
    const before = await databaseSnapshot();
    const body = await bulkOk(admin, {
      dryRun: true,
      invitations: [
        { email: "fresh@example.com" },
        { email: "taken@example.com" },
        { email: "FRESH@example.com" },
        {},
      ],
    });
    expect(body.dryRun).toBe(true);
    expect(body.summary).toEqual(
      summary({ requested: 4, wouldCreate: 1, alreadyPending: 1, duplicate: 1, invalid: 1 }),
    );
    expect(body.results.map((r) => [r.index, r.outcome, r.email])).toEqual([
      [0, "would_create", "fresh@example.com"],
      [1, "already_pending", "taken@example.com"],
      [2, "duplicate", "fresh@example.com"],
      [3, "invalid", null],
    ]);
    expect(body.results.some((r) => r.invitation !== undefined)).toBe(false);
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("counts another organization's pending invitation to the same address for nothing", async () => {
    const other = await caller();
    await createWithLink(other, "shared@example.com");
    const admin = await caller();
    const body = await bulkOk(admin, { invitations: [{ email: "shared@example.com" }] });
    expect(body.results[0]?.outcome).toBe("created");
    expect(body.results[0]?.invitation?.organizationId).toBe(admin.org);
  });

  it("replaces a past-due pending invitation to the same address, recording its expiry in the same write", async () => {
    freezeClock();
    const admin = await caller();
    const old = await createWithLink(admin, "again@example.com", { expiresInDays: 1 });
    vi.setSystemTime(Date.parse(old.expiresAt) + 1);
    const later = await caller("ORG_ADMIN", admin.org, admin.sub);
    const body = await bulkOk(later, { invitations: [{ email: "again@example.com" }] });
    const fresh = body.results[0]?.invitation;
    expect(fresh?.status).toBe("PENDING");
    expect((await storedRows(admin.org)).map((row) => [row.id, row.status, row.updated_at])).toEqual([
      [old.id, "EXPIRED", Date.parse(fresh?.createdAt ?? "")],
      [fresh?.id, "PENDING", Date.parse(fresh?.createdAt ?? "")],
    ]);
  });

  it("writes 100 invitations in one D1 round trip of three statements", async () => {
    const admin = await caller();
    const batches: number[] = [];
    const counting = overrideD1(env.DB, {
      withSession: (target, constraint) =>
        overrideD1(target.withSession(constraint), {
          batch: async (session, statements) => {
            batches.push(statements.length);
            return session.batch(statements);
          },
        }),
    });
    const invitations = Array.from({ length: 100 }, (_, i) => ({
      email: `person-${i}@example.com`,
      role: i % 2 ? "OPERATOR" : "VIEWER",
    }));
    const res = await fetchWith({ DB: counting }, "/api/v1/invitations/bulk", {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ invitations }),
    });
    expect(res.status).toBe(200);
    expect((await res.json<BulkBody>()).summary).toEqual(summary({ requested: 100, created: 100 }));
    expect(batches).toEqual([3]);
    expect(await storedRows(admin.org)).toHaveLength(100);
    expect((await list(admin, "?limit=1")).meta.total).toBe(100);
    expect(await storedEvents(admin.org)).toHaveLength(100);
  });

  it("leaves every address with one pending invitation when single creates race the bulk write", async () => {
    const admin = await caller();
    const emails = Array.from({ length: 10 }, (_, i) => `race-${i}@example.com`);
    const [bulkRes, ...singles] = await Promise.all([
      bulk(admin, { invitations: emails.map((email) => ({ email })) }),
      ...emails.map((email) =>
        api("/api/v1/invitations", { method: "POST", token: admin.token, json: { email } }),
      ),
    ]);
    const body = await bulkRes?.json<BulkBody>();
    const rows = await storedRows(admin.org);
    expect(rows.map((row) => row.email).sort()).toEqual([...emails].sort());
    const singleWins = singles.filter((res) => res.status === 201).length;
    expect(singles.every((res) => res.status === 201 || res.status === 409)).toBe(true);
    expect((body?.summary.created ?? 0) + singleWins).toBe(10);
    expect(body?.summary.alreadyPending).toBe(singleWins);
  });

  it("replays its answer for a retry with the same Idempotency-Key: the same links, nothing created twice", async () => {
    const admin = await caller();
    const key = crypto.randomUUID();
    const request = { invitations: [{ email: "one@example.com" }, { email: "two@example.com" }] };
    const first = await bulk(admin, request, { "Idempotency-Key": key });
    const retry = await bulk(admin, request, { "Idempotency-Key": key });
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await retry.json()).toEqual(await first.json());
    expect(await storedRows(admin.org)).toHaveLength(2);
  });

  it("refuses a malformed envelope with 400 VALIDATION_ERROR and writes nothing", async () => {
    const admin = await caller();
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ email: `n${i}@example.com` }));
    const cases: [unknown, Record<string, string[]>][] = [
      [{}, { invitations: ["Invalid input: expected array, received undefined"] }],
      [{ invitations: [] }, { invitations: ["Too small: expected array to have >=1 items"] }],
      [{ invitations: tooMany }, { invitations: ["Too big: expected array to have <=100 items"] }],
      [
        { invitations: { email: "a@example.com" } },
        { invitations: ["Invalid input: expected array, received object"] },
      ],
      [
        { invitations: [{ email: "a@example.com" }], dryRun: "yes" },
        { dryRun: ["Invalid input: expected boolean, received string"] },
      ],
      [
        { invitations: [{ email: "a@example.com" }], organizationId: admin.org },
        { body: ['Unrecognized key: "organizationId"'] },
      ],
    ];
    for (const [body, details] of cases) {
      await expectError(
        await bulk(admin, body),
        400,
        "VALIDATION_ERROR",
        "Bad Request",
        "Validation error",
        details,
      );
    }
    expect(await storedRows(admin.org)).toEqual([]);
  });

  it("takes a body up to 64 KiB and refuses a larger one with 413", async () => {
    const admin = await caller();
    // Addresses near the 254-character limit: 100 of them are well over the 16 KiB of other bodies.
    const long = (n: number) => ({
      email: `p${n}-${"y".repeat(58)}@${"a".repeat(58)}.${"b".repeat(58)}.${"c".repeat(58)}.example.com`,
    });
    const fits = { invitations: Array.from({ length: 100 }, (_, i) => long(i)) };
    expect(JSON.stringify(fits).length).toBeGreaterThan(16 * 1024);
    const res = await bulk(admin, fits);
    expect(res.status).toBe(200);
    expect((await res.json<BulkBody>()).summary.created).toBe(100);
    const over = { invitations: [{ email: "a@example.com" }], note: "z".repeat(64 * 1024) };
    await expectError(
      await bulk(admin, over),
      413,
      "PAYLOAD_TOO_LARGE",
      "Payload Too Large",
      "Payload too large",
    );
  });

  it("is for ORG_ADMIN only: OPERATOR and VIEWER get 403 and nothing is written", async () => {
    for (const role of ["OPERATOR", "VIEWER"] as const) {
      const who = await caller(role);
      await expectError(
        await bulk(who, { invitations: [{ email: "nope@example.com" }] }),
        403,
        "FORBIDDEN",
        "Forbidden",
        "Forbidden",
      );
      expect(await storedRows(who.org)).toEqual([]);
    }
  });
});
