import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  api,
  type Caller,
  caller,
  DAY,
  expectError,
  fetchWith,
  type Invitation,
  type ListBody,
  list,
  MINUTE,
  RANDOM_UUID_SQL,
  restoreAfterEach,
} from "./helpers";

restoreAfterEach();

/*
 * GET /invitations?cursor=...: the keyset pages. Walked to the end while rows are inserted and
 * revoked between pages, for every sort and the filter kinds, no row is shown twice, every row
 * that matches throughout is shown, and the pages come in order; a cursor that is not the
 * API's, or not for this list, is refused.
 */

const SIZE = 60;

/**
 * SIZE invitations of a fresh organization in one statement, with ties in every sort key: three
 * per createdAt, two per address (one PENDING, one ACCEPTED, REVOKED or EXPIRED), expiresAt
 * repeating, all three roles, two inviters; every fifth PENDING one came due and is not swept.
 */
async function seeded(): Promise<Caller> {
  const admin = await caller("ORG_ADMIN", undefined, "user_one");
  const start = Date.now() - DAY;
  await env.DB.prepare(
    `WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2 - 1)
     INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at)
     SELECT ${RANDOM_UUID_SQL},
            ?1, 'p' || (n % (?2 / 2)) || '@example.com',
            CASE n % 3 WHEN 0 THEN 'VIEWER' WHEN 1 THEN 'OPERATOR' ELSE 'ORG_ADMIN' END,
            CASE WHEN n < ?2 / 2 THEN 'PENDING' ELSE CASE n % 3 WHEN 0 THEN 'REVOKED' WHEN 1 THEN 'ACCEPTED' ELSE 'EXPIRED' END END,
            CASE n % 2 WHEN 0 THEN 'user_one' ELSE 'user_two' END,
            ?3 + (n / 3) * 1000, ?3 + (n / 3) * 1000,
            CASE WHEN n < ?2 / 2 AND n % 5 = 0 THEN ?4 - ${MINUTE} ELSE ?4 + DAY_MS * (1 + n % 7) END
     FROM seq`.replace("DAY_MS", String(DAY)),
  )
    .bind(admin.org, SIZE, start, Date.now())
    .run();
  return admin;
}

const SORTS = ["createdAt", "-createdAt", "expiresAt", "-expiresAt", "email", "-email"] as const;
const FILTERS = [
  "",
  "status=PENDING",
  "status=EXPIRED",
  "status=PENDING,REVOKED&role=OPERATOR",
  "role=VIEWER,ORG_ADMIN",
  "invitedBy=user_one",
  "invitedBy=user_two&status=ACCEPTED,EXPIRED",
  "email=p3@example.com",
];

/** The invitation's sort key for `sort`, ties last, as the API orders by it (ISO times sort as text). */
function sortKey(invitation: Invitation, sort: string): string[] {
  const field = sort.replace("-", "");
  if (field === "email") return [invitation.email, invitation.createdAt, invitation.id];
  return [field === "createdAt" ? invitation.createdAt : invitation.expiresAt, invitation.id];
}

function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    const [x = "", y = ""] = [a[i], b[i]];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The ids `query` matches now, by walking the list by number (limit 100). */
async function matching(who: Caller, query: string): Promise<Set<string>> {
  const body = await list(who, `?limit=100&${query}`);
  expect(body.meta.nextCursor).toBeNull();
  return new Set(body.data.map((invitation) => invitation.id));
}

describe("GET /api/v1/invitations?cursor", () => {
  for (const sort of SORTS) {
    it(`walks every filter kind by ${sort}, no row skipped or repeated while rows are inserted and revoked`, async () => {
      for (const filter of FILTERS) {
        const admin = await seeded();
        const query = [filter, `sort=${sort}`].filter(Boolean).join("&");
        const before = await matching(admin, query);
        const seen: Invitation[] = [];
        const inserted = new Set<string>();
        let cursor: string | null | undefined;
        for (let page = 0; cursor !== null; page++) {
          expect(page, `${query}: ends`).toBeLessThan(SIZE);
          const body = await list(admin, `?limit=6&${query}${cursor ? `&cursor=${cursor}` : ""}`);
          expect(body.meta.page).toBe(cursor ? null : 1);
          expect(body.data.length).toBeLessThanOrEqual(6);
          if (body.meta.nextCursor !== null) expect(body.data).toHaveLength(6);
          seen.push(...body.data);
          cursor = body.meta.nextCursor;
          // Between pages: one invitation more (it may sort before or after the cursor) and one
          // pending one revoked (shown already, or not yet).
          const created = await api("/api/v1/invitations", {
            method: "POST",
            token: admin.token,
            json: { email: `new${page}@example.com`, role: "OPERATOR" },
          });
          expect(created.status).toBe(201);
          inserted.add((await created.json<Invitation>()).id);
          const [pending] = await list(
            admin,
            `?status=PENDING&limit=1&sort=${page % 2 ? "email" : "-email"}`,
          ).then((b) => b.data);
          if (pending) {
            const revoked = await api(`/api/v1/invitations/${pending.id}`, {
              method: "DELETE",
              token: admin.token,
            });
            expect(revoked.status).toBe(200);
          }
        }
        const ids = seen.map((invitation) => invitation.id);
        expect(new Set(ids).size, `${query}: repeated`).toBe(ids.length);
        const after = await matching(admin, query);
        const throughout = [...before].filter((id) => after.has(id));
        expect(ids, `${query}: skipped`).toEqual(expect.arrayContaining(throughout));
        for (const id of ids) expect(before.has(id) || inserted.has(id), `${query}: never there`).toBe(true);
        const keys = seen.map((invitation) => sortKey(invitation, sort));
        const direction = sort.startsWith("-") ? -1 : 1;
        for (let i = 1; i < keys.length; i++) {
          expect(compareKeys(keys[i - 1] ?? [], keys[i] ?? []) * direction, `${query}: order`).toBe(-1);
        }
      }
    }, 60_000);
  }

  it("gives the same rows as paging by number when nothing changes, and lets limit change between pages", async () => {
    const admin = await seeded();
    const byNumber = (await list(admin, "?limit=100&sort=email")).data.map((invitation) => invitation.id);
    const byCursor: string[] = [];
    let cursor: string | null = null;
    for (const limit of [1, 7, 20, 100]) {
      const body: ListBody = await list(
        admin,
        `?limit=${limit}&sort=email${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(body.meta).toMatchObject({ limit, total: SIZE, totalPages: Math.ceil(SIZE / limit) });
      byCursor.push(...body.data.map((invitation) => invitation.id));
      cursor = body.meta.nextCursor;
    }
    expect(cursor).toBeNull();
    expect(byCursor).toEqual(byNumber);
  });
});

describe("GET /api/v1/invitations, the lists that merge the most ranges", () => {
  // 12 ranges (every status and role, or three statuses and the rows that came due), each with
  // its own parameters: within D1's 5 terms per compound SELECT and 100 parameters per statement.
  for (const query of [
    "sort=expiresAt",
    "invitedBy=user_one&status=ACCEPTED,REVOKED,EXPIRED&sort=-email",
    "invitedBy=user_one&status=PENDING,ACCEPTED,REVOKED,EXPIRED&role=ORG_ADMIN,OPERATOR,VIEWER&sort=email",
  ]) {
    it(`pages ?${query} by number and by cursor as the whole list orders it`, async () => {
      const admin = await seeded();
      const whole = (await list(admin, `?limit=100&${query}`)).data.map((invitation) => invitation.id);
      expect(whole.length).toBeGreaterThan(4);
      const first = await list(admin, `?limit=2&${query}`);
      const second = await list(admin, `?limit=2&page=2&${query}`);
      const byCursor = await list(admin, `?limit=2&${query}&cursor=${first.meta.nextCursor}`);
      expect(second.data.map((invitation) => invitation.id)).toEqual(whole.slice(2, 4));
      expect(byCursor.data).toEqual(second.data);
    });
  }
});

describe("GET /api/v1/invitations?cursor refusals", () => {
  /** A cursor of `admin`'s list `query` (its first page's nextCursor). */
  async function cursorOf(admin: Caller, query: string): Promise<string> {
    const cursor = (await list(admin, `?limit=2&${query}`)).meta.nextCursor;
    expect(cursor).toEqual(expect.any(String));
    return cursor as string;
  }
  const invalid = {
    cursor: ["Invalid cursor: pass meta.nextCursor of a list of this organization, unchanged"],
  };
  const otherList = {
    cursor: [
      "This cursor belongs to a list with another sort or other filters: send the same sort and filters as the request that returned it",
    ],
  };
  const expectRefused = async (res: Response, details: Record<string, string[]>) =>
    expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", details);

  it("refuses a cursor sent with another sort or other filters, saying so", async () => {
    const admin = await seeded();
    const cursor = await cursorOf(admin, "status=PENDING&sort=email");
    for (const query of [
      "status=PENDING",
      "status=PENDING&sort=-email",
      "status=PENDING,EXPIRED&sort=email",
      "sort=email",
      "status=PENDING&sort=email&role=VIEWER",
      "status=PENDING&sort=email&invitedBy=user_one",
      "status=PENDING&sort=email&email=p1@example.com",
    ]) {
      await expectRefused(
        await api(`/api/v1/invitations?${query}&cursor=${cursor}`, { token: admin.token }),
        otherList,
      );
    }
    // The same filters in another spelling, and another limit, are the same list.
    const same = await api(`/api/v1/invitations?sort=email&limit=3&status=PENDING&cursor=${cursor}`, {
      token: admin.token,
    });
    expect(same.status).toBe(200);
  });

  it("refuses a cursor altered, cut, made up, or of another organization", async () => {
    const admin = await seeded();
    const stranger = await caller("ORG_ADMIN");
    const cursor = await cursorOf(admin, "");
    const flipped = (i: number) => cursor.slice(0, i) + (cursor[i] === "A" ? "B" : "A") + cursor.slice(i + 1);
    for (const bad of [
      flipped(0),
      flipped(20),
      flipped(cursor.length - 1),
      cursor.slice(0, -2),
      "abc",
      "%25%25",
    ]) {
      await expectRefused(await api(`/api/v1/invitations?cursor=${bad}`, { token: admin.token }), invalid);
    }
    await expectRefused(
      await api(`/api/v1/invitations?cursor=${cursor}`, { token: stranger.token }),
      invalid,
    );
    await expectRefused(await api("/api/v1/invitations?cursor=", { token: admin.token }), {
      cursor: ["Too small: expected string to have >=1 characters"],
    });
  });

  it("refuses a cursor with a page", async () => {
    const admin = await seeded();
    const cursor = await cursorOf(admin, "");
    for (const page of [1, 2]) {
      await expectRefused(
        await api(`/api/v1/invitations?page=${page}&cursor=${cursor}`, { token: admin.token }),
        {
          page: ["Send either page or cursor: a cursor already says where the page starts"],
        },
      );
    }
  });

  it("keys cursors with CURSOR_SECRET, else with JWT_SECRET, and refuses a cursor keyed otherwise", async () => {
    const admin = await seeded();
    const auth = { headers: { Authorization: `Bearer ${admin.token}` } };
    const firstPage = async (overrides: Partial<Env>) => {
      const res = await fetchWith(overrides, "/api/v1/invitations?limit=2", auth);
      expect(res.status).toBe(200);
      return (await res.json<ListBody>()).meta.nextCursor as string;
    };
    const underJwtSecret = await firstPage({ CURSOR_SECRET: "" });
    const next = (overrides: Partial<Env>, cursor: string) =>
      fetchWith(overrides, `/api/v1/invitations?limit=2&cursor=${cursor}`, auth);
    expect((await next({ CURSOR_SECRET: "" }, underJwtSecret)).status).toBe(200);
    await expectRefused(await next({}, underJwtSecret), invalid);
    const rotated = { CURSOR_SECRET: "another-cursor-secret-for-vitest-0123456789" };
    await expectRefused(await next(rotated, await firstPage({})), invalid);
  });

  it("is a logged 500 when neither CURSOR_SECRET nor JWT_SECRET is set, or CURSOR_SECRET is short", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const admin = await caller();
    for (const overrides of [
      { CURSOR_SECRET: "", JWT_SECRET: "", JWT_JWKS_URL: "https://idp.example.com/.well-known/jwks.json" },
      { CURSOR_SECRET: "short" },
    ]) {
      const res = await fetchWith(overrides, "/api/v1/invitations", {
        headers: { Authorization: `Bearer ${admin.token}` },
      });
      await expectError(res, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error", "Internal server error");
    }
    const logged = errors.mock.calls.map((call) => String(call[0])).join("\n");
    expect(logged).toContain("set CURSOR_SECRET (it keys the list's cursors) when JWT_SECRET is not set");
    expect(logged).toContain("CURSOR_SECRET");
    expect(logged).toContain("must be at least 32 characters");
  });
});
