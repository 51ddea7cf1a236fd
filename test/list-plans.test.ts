import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type Caller, caller, fetchWith, overrideD1 } from "./helpers";

/*
 * How each list reads, as SQLite plans it (EXPLAIN QUERY PLAN of the very SQL the Worker sends):
 * the index ranges its page merges (src/invitations/list-plan.ts) and what its total reads
 * (src/invitations/list-query.ts). SQLite plans without statistics here, so the plans do not
 * depend on the rows; test/list-cost.test.ts measures the rows they read.
 */

let admin: Caller;
beforeAll(async () => {
  admin = await caller();
});

/** The SQL (and its parameters) the Worker sends D1 while answering `path`. */
async function queriesFor(who: Caller, path: string) {
  const queries: { sql: string; params: unknown[] }[] = [];
  const recording = overrideD1(env.DB, {
    withSession: (target, constraint) => {
      const session = target.withSession(constraint);
      return new Proxy(session, {
        get(s, property) {
          if (property !== "prepare") return Reflect.get(s, property).bind(s);
          return (sql: string) => {
            const statement = s.prepare(sql);
            const bind = statement.bind.bind(statement);
            statement.bind = (...params: unknown[]) => {
              queries.push({ sql, params });
              return bind(...params);
            };
            return statement;
          };
        },
      });
    },
  });
  const res = await fetchWith({ DB: recording }, path, { headers: { Authorization: `Bearer ${who.token}` } });
  expect(res.status).toBe(200);
  return queries;
}

/** Index names as written in src/db/schema.ts, without their common affixes. */
const idx = (name: string) => `invitations_${name}_idx`;

/** The total's reads: the counter it searches by its key, and the due rows' range when it needs them. */
const TOTAL = {
  organization:
    /^SEARCH organization_invitation_counts USING (COVERING )?INDEX sqlite_autoindex_organization_invitation_counts_1 \(organization_id=\?\)$/,
  // By as much of its key as the filters give: at most a row per role.
  counts:
    /^SEARCH invitation_counts USING INDEX sqlite_autoindex_invitation_counts_1 \(organization_id=\?( AND status=\?( AND role=\?)?)?\)$/,
  inviter:
    /^SEARCH inviter_invitation_counts USING INDEX sqlite_autoindex_inviter_invitation_counts_1 \(organization_id=\? AND invited_by=\?( AND status=\?( AND role=\?)?)?\)$/,
  due: /^SEARCH invitations USING COVERING INDEX invitations_org_status_role_expires_idx \(organization_id=\? AND status=\? AND role=\? AND expires_at<\?\)$/,
  inviterDue:
    /^SEARCH invitations USING COVERING INDEX invitations_org_inviter_expires_idx \(organization_id=\? AND invited_by=\? AND status=\? AND role=\? AND expires_at<\?\)$/,
  email:
    /^SEARCH invitations USING (COVERING )?INDEX invitations_org_email_created_idx \(organization_id=\? AND email=\?\)$/,
};

describe("GET /api/v1/invitations query plans", () => {
  // Each list's page: how many ranges of which index it merges (list-plan.ts), and how many of
  // them are sorted apart (the rows that came due, or one address's); then what its total reads:
  // a counter per status (and role, when filtered), a range per role for the rows that came due.
  type Reads = Partial<Record<keyof typeof TOTAL, number>>;
  const lists: [string, Record<string, number>, number, Reads][] = [
    ["", { org_created: 1 }, 0, { organization: 1 }],
    ["?sort=-email", { org_email_created: 1 }, 0, { organization: 1 }],
    ["?sort=expiresAt", { org_status_role_expires: 15 }, 0, { organization: 1 }],
    ["?status=PENDING", { org_status_role_created: 3 }, 0, { counts: 1, due: 3 }],
    ["?status=REVOKED&sort=createdAt", { org_status_role_created: 3 }, 0, { counts: 1 }],
    // The rows that came due: their own range of the expiry index, sorted apart unless by expiry.
    ["?status=EXPIRED", { org_status_role_created: 3, org_status_role_expires: 3 }, 3, { counts: 1, due: 3 }],
    ["?status=EXPIRED&sort=-expiresAt", { org_status_role_expires: 6 }, 0, { counts: 1, due: 3 }],
    ["?status=ACCEPTED,REVOKED", { org_status_role_created: 6 }, 0, { counts: 2 }],
    ["?status=PENDING,EXPIRED&sort=email", { org_status_role_email: 6 }, 0, { counts: 2 }],
    ["?role=OPERATOR", { org_status_role_created: 5 }, 0, { counts: 5 }],
    ["?role=OPERATOR&sort=expiresAt", { org_status_role_expires: 5 }, 0, { counts: 5 }],
    ["?role=VIEWER,OPERATOR&sort=email", { org_status_role_email: 10 }, 0, { counts: 10 }],
    ["?role=OPERATOR&status=PENDING", { org_status_role_created: 1 }, 0, { counts: 1, due: 1 }],
    ["?invitedBy=user_two", { org_inviter_created: 15 }, 0, { inviter: 5 }],
    ["?invitedBy=user_two&sort=email", { org_inviter_email: 15 }, 0, { inviter: 5 }],
    ["?role=VIEWER&invitedBy=user_two", { org_inviter_created: 5 }, 0, { inviter: 5 }],
    [
      "?status=EXPIRED&invitedBy=user_two&sort=-expiresAt",
      { org_inviter_expires: 6 },
      0,
      { inviter: 1, inviterDue: 3 },
    ],
    ["?email=alice@example.com", { org_email_created: 1 }, 0, { email: 1 }],
    ["?email=alice@example.com&sort=-email", { org_email_created: 1 }, 0, { email: 1 }],
    [
      "?status=PENDING&role=VIEWER&email=alice@example.com&sort=expiresAt",
      { org_email_created: 1 },
      1,
      { email: 1 },
    ],
  ];
  for (const [query, indexes, sortedApart, totalReads] of lists) {
    const ranges = Object.entries(indexes)
      .map(([index, n]) => `${n} of ${index}`)
      .join(", ");
    it(`merges ${ranges} (${sortedApart} sorted apart) and scans nothing for ?${query.slice(1) || "(no filter)"}`, async () => {
      const queries = await queriesFor(admin, `/api/v1/invitations${query}`);
      expect(queries).toHaveLength(2);
      const plans: string[][] = [];
      for (const { sql, params } of queries) {
        const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>();
        plans.push(plan.results.map((row) => row.detail));
      }
      const [page = [], total = []] = plans;
      const searched: Record<string, number> = {};
      for (const step of page.filter((s) => s.startsWith("SEARCH"))) {
        const index = /^SEARCH invitations USING INDEX invitations_(\w+)_idx \(organization_id=\?/.exec(
          step,
        )?.[1];
        expect(index, page.join("; ")).toBeDefined();
        searched[index ?? ""] = (searched[index ?? ""] ?? 0) + 1;
      }
      expect(searched, page.join("; ")).toEqual(indexes);
      if (Object.values(indexes)[0] !== 1 || Object.keys(indexes).length > 1) {
        expect(page[0], "one merge in order, no sort of the merged rows").toBe("MERGE (UNION ALL)");
      }
      expect(page.filter((step) => step === "USE TEMP B-TREE FOR ORDER BY").length, page.join("; ")).toBe(
        sortedApart,
      );
      // The total reads counters or ranges by their keys; what it scans is the one-row `(SELECT 1)`
      // it is selected from.
      const scans = total.filter((step) => step.startsWith("SCAN"));
      expect(scans.map((step) => step.replace(/\d+/, "n"))).toEqual([
        "SCAN CONSTANT ROW",
        "SCAN (subquery-n)",
      ]);
      // Each of its reads is one of the kinds expected, as many times as expected.
      const reads: Reads = {};
      for (const step of total.filter((s) => s.startsWith("SEARCH"))) {
        const kind = (Object.keys(TOTAL) as (keyof typeof TOTAL)[]).find((k) => TOTAL[k].test(step));
        expect(kind, step).toBeDefined();
        if (kind) reads[kind] = (reads[kind] ?? 0) + 1;
      }
      expect(reads, total.join("; ")).toEqual(totalReads);
    });
  }
  // Unused names would hide a plan that changed.
  it("names only indexes the schema has", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'invitations'",
    ).all<{ name: string }>();
    const names = results.map((row) => row.name);
    for (const [, indexes] of lists)
      for (const name of Object.keys(indexes)) expect(names).toContain(idx(name));
  });
});
