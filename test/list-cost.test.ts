import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Caller,
  caller,
  DAY,
  fetchCountingRowsRead,
  type ListBody,
  MINUTE,
  RANDOM_UUID_SQL,
} from "./helpers";

/*
 * What a list request costs in D1 rows read (D1's meta, its billing unit), at a size that would
 * show any scan: 3,000 invitations of one inviter, all PENDING, a third in each role, as the
 * bench seeds its organizations (npm run bench:list measures the same at 100,000). A scan of the
 * organization would read thousands; a page reads about its rows.
 */

const SIZE = 3_000;
const LIMIT = 20;
/** Rows that came due and that the sweep has not stored as EXPIRED yet, in a second organization. */
const DUE = 7;

let admin: Caller;
let withDue: Caller;

/** `count` PENDING invitations by "seeder", roles in turn, one second apart, due `expiresIn` from now. */
async function seed(org: string, count: number, expiresIn: (n: string) => string) {
  await env.DB.prepare(
    `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2)
     INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at)
     SELECT ${RANDOM_UUID_SQL},
            ?1, 'user' || n || '@example.com', CASE n % 3 WHEN 0 THEN 'ORG_ADMIN' WHEN 1 THEN 'OPERATOR' ELSE 'VIEWER' END,
            'PENDING', 'seeder', ?3 + n * 1000, ?3 + n * 1000, ${expiresIn("n")}
     FROM seq`,
  )
    .bind(org, count, Date.now() - 30 * DAY, Date.now())
    .run();
}

beforeAll(async () => {
  admin = await caller();
  await seed(admin.org, SIZE, () => `?4 + ${7 * DAY}`);
  withDue = await caller();
  // The first DUE of them came due a minute ago.
  await seed(
    withDue.org,
    SIZE,
    (n) => `CASE WHEN ${n} <= ${DUE} THEN ?4 - ${MINUTE} ELSE ?4 + ${7 * DAY} END`,
  );
});

async function rowsRead(who: Caller, query: string) {
  const { res, rowsRead } = await fetchCountingRowsRead(who, `/api/v1/invitations?${query}`);
  expect(res.status, query).toBe(200);
  return { rowsRead, body: await res.json<ListBody>() };
}

/** Page 1 of each query: its total exact, its rows of the effective status asked, at most `most` rows read. */
async function expectPage1(who: Caller, cases: readonly (readonly [string, number])[], most: number) {
  for (const [query, total] of cases) {
    const { rowsRead: read, body } = await rowsRead(who, `limit=${LIMIT}&${query}`);
    expect(body.meta.total, query).toBe(total);
    const status = /status=(PENDING|EXPIRED)$/.exec(query)?.[1];
    if (status)
      expect(
        body.data.every((invitation) => invitation.status === status),
        query,
      ).toBe(true);
    expect(read, query).toBeLessThanOrEqual(most);
  }
}

describe("GET /api/v1/invitations rows read", () => {
  it("page 1 with any combination of status and role filters reads at most limit + 10", async () => {
    await expectPage1(
      admin,
      [
        ["status=PENDING", SIZE],
        ["role=VIEWER", SIZE / 3],
        ["status=PENDING,REVOKED", SIZE],
        ["status=EXPIRED", 0],
        ["status=ACCEPTED", 0],
        ["status=PENDING&role=VIEWER", SIZE / 3],
        ["status=PENDING,EXPIRED&role=ORG_ADMIN,OPERATOR", (2 * SIZE) / 3],
        ["status=ACCEPTED,REVOKED,EXPIRED&role=VIEWER,OPERATOR", 0],
        ["status=PENDING,ACCEPTED,REVOKED,EXPIRED&role=ORG_ADMIN,OPERATOR,VIEWER", SIZE],
      ],
      LIMIT + 10,
    );
  });

  it("page 1 by inviter or address reads at most limit + 10 too, with an exact total", async () => {
    await expectPage1(
      admin,
      [
        ["invitedBy=seeder", SIZE],
        ["invitedBy=seeder&status=PENDING&role=VIEWER", SIZE / 3],
        ["invitedBy=seeder&status=REVOKED", 0],
        ["invitedBy=nobody", 0],
        ["email=user5@example.com", 1],
        ["email=user5@example.com&status=EXPIRED", 0],
      ],
      LIMIT + 10,
    );
  });

  it("counts rows that came due and are not swept as EXPIRED, reading them and no other", async () => {
    // Each due row is read twice at most: by the page and by the total's range.
    await expectPage1(
      withDue,
      [
        ["status=EXPIRED", DUE],
        ["status=PENDING", SIZE - DUE],
        ["role=OPERATOR&status=EXPIRED", Math.ceil(DUE / 3)],
        ["invitedBy=seeder&status=EXPIRED", DUE],
      ],
      LIMIT + 10 + 2 * DUE,
    );
  });

  it("a deep page by cursor reads about limit rows, for every sort and filter kind", async () => {
    const filters = [
      "",
      "status=PENDING",
      "role=VIEWER",
      "invitedBy=seeder",
      "status=PENDING,REVOKED",
      "status=PENDING&role=ORG_ADMIN,VIEWER",
    ];
    for (const filter of filters) {
      for (const sort of ["createdAt", "-createdAt", "expiresAt", "-expiresAt", "email", "-email"]) {
        const query = `limit=${LIMIT}&sort=${sort}${filter ? `&${filter}` : ""}`;
        // The cursor at page 50 (1,000 rows in at most), handed out by the page before it.
        const { body } = await rowsRead(admin, `${query}&page=49`);
        const cursor = body.meta.nextCursor;
        expect(cursor, query).toEqual(expect.any(String));
        const deep = await rowsRead(admin, `${query}&cursor=${cursor}`);
        expect(deep.body.data, query).toHaveLength(LIMIT);
        // The page and one row more (is there a next page?), a row per merged range at most
        // (12 with invitedBy), and the total's counters.
        expect(deep.rowsRead, query).toBeLessThanOrEqual(LIMIT + 20);
      }
    }
  });

  // The total, twice: once to find the page past the end (then nothing else is read), once for
  // meta. Unfiltered, the organization's counter; filtered, its counters (a row per status and
  // role) and, when the effective status needs it, a range per role for the rows that came due.
  it("a page past the end reads the total and nothing else", async () => {
    for (const [query, most] of [
      ["page=1000000", 2],
      ["page=151", 2],
      ["status=PENDING&page=1000000", 16],
      ["role=VIEWER&page=51", 16],
      ["invitedBy=seeder&page=1000000", 16],
      ["status=EXPIRED&page=2", 16],
    ] as const) {
      const { rowsRead: read, body } = await rowsRead(admin, `limit=${LIMIT}&${query}`);
      expect(body.data, query).toEqual([]);
      expect(body.meta.nextCursor, query).toBeNull();
      expect(read, query).toBeLessThanOrEqual(most);
    }
  });

  it("the last page by cursor reads about its rows and says there is none after it", async () => {
    const { body } = await rowsRead(admin, `limit=${LIMIT}&page=${SIZE / LIMIT - 1}`);
    const last = await rowsRead(admin, `limit=${LIMIT}&cursor=${body.meta.nextCursor}`);
    expect(last.body.data).toHaveLength(LIMIT);
    expect(last.body.meta).toEqual({
      limit: LIMIT,
      page: null,
      total: SIZE,
      totalPages: 150,
      nextCursor: null,
    });
    // Its rows, the end of the range found looking for one more, and the organization's counter.
    expect(last.rowsRead).toBeLessThanOrEqual(LIMIT + 5);
  });
});
