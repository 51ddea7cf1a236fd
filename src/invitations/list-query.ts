import { and, eq, type SQL, sql } from "drizzle-orm";
import { unionAll } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import {
  type InvitationRow,
  invitationCounts,
  invitations,
  inviterInvitationCounts,
  organizationInvitationCounts,
  ROLES,
  STATUSES,
} from "../db/schema";
import { type ListFilters, listPlan, literal, type SortKey } from "./list-plan";

/*
 * The list's two queries, run in one round trip: the page, as list-plan.ts reads it, and the total
 * that matches, from counts the database keeps (migration 0008). Neither counts the rows it
 * matches, so both cost about what the page shows, at any size.
 */

export type ListQuery = ListFilters & {
  limit: number;
  offset: number;
  /** The sort key the page starts after (a cursor's); from the first row without. */
  after?: SortKey;
};

/**
 * How many of the organization's invitations `filters` match, as one SQL expression:
 *
 * - no filter: the organization's counter (one row);
 * - `email`: the address's rows, counted through its index (an address has few);
 * - `status`, `role`, `invitedBy`: the sum of the counters of the (stored status, role) pairs they
 *   allow, per inviter with `invitedBy` (a row each). The counters know stored statuses; a PENDING
 *   row past its expiry that the sweep has not yet stored is EXPIRED, so when exactly one of
 *   PENDING and EXPIRED is asked for, those rows (a range of the expiry index) move from one to
 *   the other.
 */
export function totalOf(organizationId: string, filters: ListFilters): SQL {
  const { statuses, roles, invitedBy, email, now } = filters;
  if (email !== undefined) {
    const [where] = listPlan(organizationId, filters).arms;
    return sql`(SELECT count(*) FROM ${invitations} WHERE ${where})`;
  }
  if (!statuses && !roles && invitedBy === undefined) {
    const counter = organizationInvitationCounts;
    return sql`coalesce((SELECT ${counter.total} FROM ${counter} WHERE ${eq(counter.organizationId, organizationId)}), 0)`;
  }
  // One subquery per key, summed: an IN list would read one more row per value, even an absent one.
  const counter = invitedBy === undefined ? invitationCounts : inviterInvitationCounts;
  const keys = (statuses ?? STATUSES).flatMap((status) =>
    (roles ?? [undefined]).map((role) => ({ status, role })),
  );
  const stored = keys.map(({ status, role }) => {
    const key = and(
      eq(counter.organizationId, organizationId),
      invitedBy === undefined ? undefined : eq(inviterInvitationCounts.invitedBy, invitedBy),
      sql`${counter.status} = ${literal(status)}`,
      role && sql`${counter.role} = ${literal(role)}`,
    );
    return sql`(SELECT coalesce(sum(${counter.total}), 0) FROM ${counter} WHERE ${key})`;
  });
  const pending = statuses?.includes("PENDING") ?? true;
  const expired = statuses?.includes("EXPIRED") ?? true;
  if (pending === expired) return sql`(${sql.join(stored, sql` + `)})`;
  // One count per role: a range each (an IN list would read one more row per role).
  const due = (roles ?? ROLES).map((role) => {
    const range = and(
      eq(invitations.organizationId, organizationId),
      invitedBy === undefined ? undefined : eq(invitations.invitedBy, invitedBy),
      sql`${invitations.status} = 'PENDING'`,
      sql`${invitations.role} = ${literal(role)}`,
      sql`${invitations.expiresAt} <= ${now}`,
    );
    return sql`(SELECT count(*) FROM ${invitations} WHERE ${range})`;
  });
  return sql`(${sql.join(stored, sql` + `)} ${sql.raw(expired ? "+" : "-")} (${sql.join(due, sql` + `)}))`;
}

/** The filters whose total is the organization's live PENDING invitations (what the cap counts). */
export const livePendingFilter = (now: number): ListFilters => ({
  statuses: ["PENDING"],
  sort: { field: "createdAt", direction: "desc" },
  now,
});

/**
 * The page: one range read in order, or several merged in order (list-plan.ts). Past the end it
 * reads nothing but the total: its LIMIT is then 0, which SQLite checks before its first step.
 */
function pageQuery(db: Db, organizationId: string, query: ListQuery) {
  const { arms, orderBy } = listPlan(organizationId, query, query.after);
  const guarded =
    query.offset > 0
      ? sql`CASE WHEN ${query.offset} < ${totalOf(organizationId, query)} THEN ${query.limit} ELSE 0 END`
      : undefined;
  // Drizzle types LIMIT as a number, and writes whatever expression it is given.
  const limit = (guarded ?? query.limit) as unknown as number;
  return merged(
    db,
    arms.map((where) => rangeOf(db, where)),
  )
    .orderBy(...orderBy)
    .limit(limit)
    .offset(query.offset);
}

/** D1's most terms in one compound SELECT (SQLITE_LIMIT_COMPOUND_SELECT). */
const MAX_TERMS = 5;

/** One range of the page: a SELECT of invitations whose rows come in the page's order. */
const rangeOf = (db: Db, where: SQL) => db.select().from(invitations).where(where).$dynamic();
type Range = ReturnType<typeof rangeOf>;

/**
 * The ranges as one compound SELECT. Past D1's limit on its terms, the ranges go in groups, each a
 * compound subquery; SQLite flattens them back into one merge after parsing, where the limit is
 * checked, so up to 25 ranges merge as lazily as 5.
 */
function merged(db: Db, ranges: Range[]) {
  const groups: Range[][] = [];
  for (let i = 0; i < ranges.length; i += MAX_TERMS) groups.push(ranges.slice(i, i + MAX_TERMS));
  const compound = (selects: Range[]) => {
    const [first, second, ...rest] = selects;
    if (!first) throw new Error("A list plan has at least one range");
    return second ? unionAll(first, second, ...rest) : first;
  };
  if (groups.length === 1) return compound(ranges);
  // Each group read whole (`SELECT *` of it): the same columns in the same order as a range.
  const subqueries = groups.map((group, i) =>
    db
      .select()
      .from(compound(group).as(`ranges_${i}`))
      .$dynamic(),
  );
  return compound(subqueries as unknown as Range[]);
}

/** One page of an organization's invitations and the total that matches, in one round trip. */
export async function listInvitations(
  db: Db,
  organizationId: string,
  query: ListQuery,
): Promise<{ rows: InvitationRow[]; total: number }> {
  const [rows, totals] = await db.batch([
    pageQuery(db, organizationId, query),
    // A select of one value from no table (Drizzle batches raw SQL only without parameters).
    db.select({ total: totalOf(organizationId, query).mapWith(Number) }).from(sql`(SELECT 1)`),
  ]);
  return { rows, total: totals[0]?.total ?? 0 };
}
