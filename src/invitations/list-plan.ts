import { type AnyColumn, and, asc, desc, eq, gt, lte, type SQL, sql } from "drizzle-orm";
import { invitations, ROLES, type Role, STATUSES, type Status } from "../db/schema";
import { hasEffectiveStatus } from "./invitation-status";
import type { SortField } from "./list.schemas";

/*
 * How the list reads its page, spelled out. SQLite has no statistics here, so its planner cannot
 * tell an email that matches one row from a status that all of them have; the plan is chosen
 * here, and what must not serve as an index is written `+column`, SQLite's documented way to keep
 * an index from serving a term.
 *
 * - An `email` filter searches (organization_id, email, created_at, id): an address has few rows,
 *   and the other filters sift them.
 * - Otherwise every (stored status, role) pair the filters allow is one range of an index that
 *   pins both, (organization_id[, invited_by], status, role, <sort keys>), which holds that pair's
 *   rows in sort order from any cursor. The page is the ranges merged: a compound SELECT whose
 *   arms SQLite runs as co-routines and merges in order (MERGE (UNION ALL)), stopping at the
 *   page's end, so it reads about the rows it shows plus one per arm, at any depth.
 * - The effective status: with PENDING asked without EXPIRED, the PENDING ranges skip the rows
 *   that came due (`+expires_at > now`); with EXPIRED without PENDING, the rows that came due are
 *   their own arm, a range of the expiry index (sorted apart when the list is not by expiry).
 * - No filter: (organization_id, created_at, id) or (organization_id, email, created_at, id)
 *   serves its sort alone; by expiry, every pair's range is merged.
 *
 * test/list-filters.test.ts holds each plan to its indexes (EXPLAIN QUERY PLAN) and to the rows
 * it reads; test/list-cursor.test.ts the same at depth.
 */

/** The list's filters and sort, as the handler has validated them. */
export type ListFilters = {
  /** Effective statuses to include; all when absent. */
  statuses?: readonly Status[];
  /** Exact address, already lower-cased. */
  email?: string;
  roles?: readonly Role[];
  invitedBy?: string;
  sort: { field: SortField; direction: "asc" | "desc" };
  now: number;
};

/** The row's fields each sort orders by, ties last: a page starts after such a key (the cursor). */
export const SORT_KEYS = {
  createdAt: ["createdAt", "id"],
  expiresAt: ["expiresAt", "id"],
  email: ["email", "createdAt", "id"],
} as const satisfies Record<SortField, readonly (keyof typeof invitations.$inferSelect)[]>;

/** The sort key of the last row of the page before, in SORT_KEYS order. */
export type SortKey = readonly (string | number)[];

/** The columns of a sort, in order. */
const sortColumns = (field: SortField): AnyColumn[] => SORT_KEYS[field].map((key) => invitations[key]);

/** The column, kept from serving as an index. */
const unindexed = (column: AnyColumn) => sql`+${column}`;

/**
 * A status or role written into the SQL as a literal: a page may merge 15 ranges, and binding
 * each one's values would come near D1's 100 parameters per statement. Only the closed sets'
 * own values reach this.
 */
export function literal(value: Status | Role): SQL {
  if (!(STATUSES as readonly string[]).includes(value) && !(ROLES as readonly string[]).includes(value)) {
    throw new Error("Not a status or role");
  }
  return sql.raw(`'${value}'`);
}

/** Rows after `after` in the sort's direction: a row value against the sort's columns (or the columns as values). */
function startsAfter(field: SortField, direction: "asc" | "desc", after: SortKey, indexed: boolean): SQL {
  const columns = sortColumns(field).map((column) => (indexed ? sql`${column}` : unindexed(column)));
  const values = after.map((value) => sql`${value}`);
  return sql`(${sql.join(columns, sql`, `)}) ${sql.raw(direction === "asc" ? ">" : "<")} (${sql.join(values, sql`, `)})`;
}

/** One stored status's range and how its expiry narrows it to the effective statuses asked for. */
type StatusRange = { status: Status; expiry?: "live" | "due" };

/** The stored statuses whose rows can have one of `statuses` as effective status, each narrowed by expiry. */
export function statusRanges(statuses: readonly Status[] | undefined): StatusRange[] {
  if (!statuses) return STATUSES.map((status) => ({ status }));
  const pending = statuses.includes("PENDING");
  const expired = statuses.includes("EXPIRED");
  return STATUSES.flatMap((status): StatusRange[] => {
    if (status === "PENDING") {
      if (pending) return [{ status, expiry: expired ? undefined : "live" }];
      return expired ? [{ status, expiry: "due" }] : [];
    }
    return statuses.includes(status) ? [{ status }] : [];
  });
}

/** A page's plan: the WHERE of each range to merge (one: no merge), and the ORDER BY. */
export type PagePlan = { arms: SQL[]; orderBy: SQL[] };

/** How `filters` read a page of `organizationId`'s invitations starting after `after` (from the start without). */
export function listPlan(organizationId: string, filters: ListFilters, after?: SortKey): PagePlan {
  const { field, direction } = filters.sort;
  const order = direction === "asc" ? asc : desc;
  const inOrganization = eq(invitations.organizationId, organizationId);

  if (filters.email !== undefined) {
    // One address: ordered by email, then createdAt, is ordered by createdAt.
    const served = field !== "expiresAt";
    const where = and(
      inOrganization,
      eq(invitations.email, filters.email),
      filters.statuses && hasEffectiveStatus(unindexed(invitations.status), filters.statuses, filters.now),
      filters.roles &&
        sql`${unindexed(invitations.role)} IN (${sql.join(filters.roles.map(literal), sql`, `)})`,
      filters.invitedBy === undefined
        ? undefined
        : sql`${unindexed(invitations.invitedBy)} = ${filters.invitedBy}`,
      after && startsAfter(field, direction, after, served),
    ) as SQL;
    const orderBy = sortColumns(field).map((column) => order(served ? column : unindexed(column)));
    return { arms: [where], orderBy };
  }

  const orderBy = sortColumns(field).map((column) => order(column));
  const unfiltered = !filters.statuses && !filters.roles && filters.invitedBy === undefined;
  if (unfiltered && field !== "expiresAt") {
    return {
      arms: [and(inOrganization, after && startsAfter(field, direction, after, true)) as SQL],
      orderBy,
    };
  }

  const arms = statusRanges(filters.statuses).flatMap(({ status, expiry }) =>
    (filters.roles ?? ROLES).map(
      (role) =>
        and(
          inOrganization,
          filters.invitedBy === undefined ? undefined : eq(invitations.invitedBy, filters.invitedBy),
          sql`${invitations.status} = ${literal(status)}`,
          sql`${invitations.role} = ${literal(role)}`,
          expiry === "live" ? gt(unindexed(invitations.expiresAt), filters.now) : undefined,
          // The rows that came due: a range of the expiry index, sorted apart unless by expiry.
          expiry === "due" ? lte(invitations.expiresAt, filters.now) : undefined,
          after && startsAfter(field, direction, after, expiry !== "due" || field === "expiresAt"),
        ) as SQL,
    ),
  );
  return { arms, orderBy };
}
