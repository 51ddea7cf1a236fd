import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  acceptAs,
  api,
  type Caller,
  caller,
  createWithLink,
  expectError,
  fetchCountingRowsRead,
  freezeClock,
  type Invitation,
  type ListBody,
  list,
  newOrgId,
  restoreAfterEach,
  seedPending,
  signToken,
} from "./helpers";

restoreAfterEach();

const DAY_MS = 86_400_000;

/**
 * One organization with an invitation in every state, two inviters and all three roles, created
 * one second apart (oldest first), and a second organization with a same-named invitee:
 *
 *   alice  VIEWER     by one  REVOKED
 *   bob    OPERATOR   by one  ACCEPTED
 *   carol  ORG_ADMIN  by two  PENDING, past due and not swept (reads EXPIRED)
 *   dave   VIEWER     by two  PENDING
 *   alice  VIEWER     by one  PENDING (invited again after the revoke)
 *   erin   OPERATOR   by one  EXPIRED, as the sweep stores it
 */
type Fixture = { one: Caller; two: Caller; byName: Record<string, Invitation>; now: number };
let fixture: Fixture;

async function create(who: Caller, email: string, role: Invitation["role"], expiresInDays = 7) {
  const { token, inviteUrl: _url, ...invitation } = await createWithLink(who, email, { role, expiresInDays });
  return { invitation, token };
}

beforeAll(async () => {
  freezeClock();
  const start = Date.now();
  // Tokens that outlive the fixture's day.
  const admin = async (sub: string, org = newOrgId()): Promise<Caller> => ({
    org,
    sub,
    role: "ORG_ADMIN",
    token: await signToken({ org, sub, expiresIn: 3 * 86_400 }),
  });
  const one = await admin("user_one");
  const two = await admin("user_two", one.org);
  const other = await admin("user_other");
  const at = (second: number) => vi.setSystemTime(start + second * 1000);

  at(0);
  const alice = await create(one, "alice@example.com", "VIEWER");
  expect(
    (await api(`/api/v1/invitations/${alice.invitation.id}`, { method: "DELETE", token: one.token })).status,
  ).toBe(200);
  at(1);
  const bob = await create(one, "bob@example.com", "OPERATOR");
  await acceptAs("bob@example.com", bob.token);
  at(2);
  const carol = await create(two, "carol@example.com", "ORG_ADMIN", 1);
  at(3);
  const dave = await create(two, "dave@example.com", "VIEWER");
  at(4);
  const alice2 = await create(one, "alice@example.com", "VIEWER");
  at(5);
  const erin = await create(one, "erin@example.com", "OPERATOR", 1);
  await env.DB.prepare("UPDATE invitations SET status = 'EXPIRED' WHERE id = ?")
    .bind(erin.invitation.id)
    .run();
  await create(other, "alice@example.com", "VIEWER");

  // A day and a minute on: carol and erin are past due.
  at(DAY_MS / 1000 + 60);
  const now = Date.now();
  // Each as the list shows it then.
  const byId = new Map(
    (await list(one, "?limit=100")).data.map((invitation) => [invitation.id, invitation] as const),
  );
  vi.useRealTimers();
  const shown = (created: { invitation: Invitation }) => byId.get(created.invitation.id) as Invitation;
  fixture = {
    one,
    two,
    now,
    byName: {
      alice: shown(alice),
      bob: shown(bob),
      carol: shown(carol),
      dave: shown(dave),
      alice2: shown(alice2),
      erin: shown(erin),
    },
  };
  expect(Object.values(fixture.byName).map((invitation) => invitation.status)).toEqual([
    "REVOKED",
    "ACCEPTED",
    "EXPIRED",
    "PENDING",
    "PENDING",
    "EXPIRED",
  ]);
});

/** Lists with `query` at the fixture's time and expects exactly `names`, in order, as the whole match. */
async function expectListed(query: string, names: string[], meta: Partial<ListBody["meta"]> = {}) {
  freezeClock(fixture.now);
  const body = await list(fixture.one, query);
  vi.useRealTimers();
  expect(body.data.map((invitation) => invitation.id)).toEqual(names.map((name) => fixture.byName[name]?.id));
  expect(body.meta).toEqual({
    limit: 20,
    page: 1,
    total: names.length,
    totalPages: Math.ceil(names.length / 20),
    nextCursor: null,
    ...meta,
  });
}

describe("GET /api/v1/invitations filters", () => {
  it("filters by effective status: a PENDING invitation past its expiry is EXPIRED, not PENDING", async () => {
    await expectListed("?status=PENDING", ["alice2", "dave"]);
    await expectListed("?status=EXPIRED", ["erin", "carol"]);
    await expectListed("?status=REVOKED", ["alice"]);
    await expectListed("?status=ACCEPTED", ["bob"]);
  });

  it("takes several statuses, comma-separated or repeated", async () => {
    await expectListed("?status=PENDING,EXPIRED", ["erin", "alice2", "dave", "carol"]);
    await expectListed("?status=PENDING&status=EXPIRED", ["erin", "alice2", "dave", "carol"]);
    await expectListed("?status=ACCEPTED,REVOKED,ACCEPTED", ["bob", "alice"]);
  });

  it("filters by email exactly and case-insensitively, within the organization only", async () => {
    await expectListed("?email=ALICE@Example.com", ["alice2", "alice"]);
    await expectListed(`?email=${encodeURIComponent(" bob@example.com ")}`, ["bob"]);
    await expectListed("?email=alice@example", []);
  });

  it("filters by role and by inviter", async () => {
    await expectListed("?role=OPERATOR", ["erin", "bob"]);
    await expectListed("?role=VIEWER,ORG_ADMIN", ["alice2", "dave", "carol", "alice"]);
    await expectListed("?invitedBy=user_two", ["dave", "carol"]);
    await expectListed("?invitedBy=USER_TWO", []);
  });

  it("combines filters, all of which must match, with total and paging over the match", async () => {
    await expectListed("?status=PENDING&role=VIEWER&invitedBy=user_one", ["alice2"]);
    await expectListed("?email=alice@example.com&status=REVOKED", ["alice"]);
    await expectListed("?status=EXPIRED&invitedBy=user_one&role=VIEWER", []);
    await expectListed("?status=PENDING,EXPIRED&limit=3&page=2", ["carol"], {
      limit: 3,
      page: 2,
      total: 4,
      totalPages: 2,
    });
  });

  it("keeps an unfiltered list's total the organization's whole count", async () => {
    await expectListed("", ["erin", "alice2", "dave", "carol", "bob", "alice"]);
  });
});

describe("GET /api/v1/invitations sort", () => {
  it("sorts by createdAt, expiresAt or email, ascending or (with -) descending", async () => {
    await expectListed("?sort=createdAt", ["alice", "bob", "carol", "dave", "alice2", "erin"]);
    await expectListed("?sort=-createdAt", ["erin", "alice2", "dave", "carol", "bob", "alice"]);
    await expectListed("?sort=expiresAt", ["carol", "erin", "alice", "bob", "dave", "alice2"]);
    await expectListed("?sort=-expiresAt", ["alice2", "dave", "bob", "alice", "erin", "carol"]);
    // Same email: ties go by createdAt, in the same direction.
    await expectListed("?sort=email", ["alice", "alice2", "bob", "carol", "dave", "erin"]);
    await expectListed("?sort=-email", ["erin", "dave", "carol", "bob", "alice2", "alice"]);
  });

  it("sorts within a filter and pages the sorted match", async () => {
    await expectListed("?status=PENDING,EXPIRED&sort=email&limit=2&page=2", ["dave", "erin"], {
      limit: 2,
      page: 2,
      total: 4,
      totalPages: 2,
    });
  });
});

describe("GET /api/v1/invitations filter validation", () => {
  const cases: [string, Record<string, string[]>][] = [
    [
      "status=ACTIVE",
      { "status.0": ['Invalid option: expected one of "PENDING"|"ACCEPTED"|"REVOKED"|"EXPIRED"|"DECLINED"'] },
    ],
    [
      "status=pending",
      { "status.0": ['Invalid option: expected one of "PENDING"|"ACCEPTED"|"REVOKED"|"EXPIRED"|"DECLINED"'] },
    ],
    [
      "status=PENDING,",
      { "status.1": ['Invalid option: expected one of "PENDING"|"ACCEPTED"|"REVOKED"|"EXPIRED"|"DECLINED"'] },
    ],
    ["role=admin", { "role.0": ['Invalid option: expected one of "ORG_ADMIN"|"OPERATOR"|"VIEWER"'] }],
    ["email=", { email: ["Too small: expected string to have >=1 characters"] }],
    ["email=%20%20", { email: ["Too small: expected string to have >=1 characters"] }],
    ["email=a@b.com&email=c@d.com", { email: ["Invalid input: expected string, received array"] }],
    ["invitedBy=", { invitedBy: ["Too small: expected string to have >=1 characters"] }],
    [
      "sort=name",
      {
        sort: [
          'Invalid option: expected one of "createdAt"|"-createdAt"|"expiresAt"|"-expiresAt"|"email"|"-email"',
        ],
      },
    ],
    [
      "sort=createdAt&sort=email",
      {
        sort: [
          'Invalid option: expected one of "createdAt"|"-createdAt"|"expiresAt"|"-expiresAt"|"email"|"-email"',
        ],
      },
    ],
  ];
  for (const [query, details] of cases) {
    it(`returns 400 VALIDATION_ERROR for ?${query}`, async () => {
      const res = await api(`/api/v1/invitations?${query}`, { token: fixture.one.token });
      await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", details);
    });
  }
});

describe("GET /api/v1/invitations filtered cost", () => {
  it("reads about as many rows as match, not the organization's, for selective filters", async () => {
    const admin = await caller("ORG_ADMIN", undefined, "user_needle");
    const now = Date.now();
    // Seeded by "seeder", all PENDING VIEWERs.
    await seedPending(admin.org, 3_000, now, now + DAY_MS);
    const { invitation } = await create(admin, "needle@example.com", "OPERATOR");
    await api(`/api/v1/invitations/${invitation.id}`, { method: "DELETE", token: admin.token });

    const expectedTotals: Record<string, number> = {
      "?email=needle@example.com": 1,
      "?status=REVOKED": 1,
      "?status=ACCEPTED,REVOKED": 1,
      "?role=OPERATOR": 1,
      "?invitedBy=user_needle": 1,
      "?sort=expiresAt": 3_001,
    };
    // A filter that matches most of the organization: the total reads every match (3,000), the
    // page only its 20 rows, in index order.
    expectedTotals["?role=VIEWER"] = 3_000;
    expectedTotals["?status=PENDING"] = 3_000;
    for (const [query, total] of Object.entries(expectedTotals)) {
      const { res, rowsRead } = await fetchCountingRowsRead(admin, `/api/v1/invitations${query}`);
      expect(res.status).toBe(200);
      const body = await res.json<ListBody>();
      expect(body.meta.total, query).toBe(total);
      // The matches counted, plus one page of 20: scanning the organization for them, or
      // sorting them all for the page, would read 3,000 more.
      expect(rowsRead, query).toBeLessThanOrEqual((total === 3_001 ? 0 : total) + 30);
    }
  });
});
