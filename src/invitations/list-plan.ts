import { type AnyColumn, and, asc, desc, eq, inArray, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { invitations, type Role, type Status } from "../db/schema";
import { hasEffectiveStatus, storedStatuses } from "./invitation-status";
import type { SortField } from "./invitations.schemas";

/*
 * How the list reads its page, spelled out. SQLite has no statistics here, so its planner cannot
 * tell an email that matches one row from a role that a third of the organization has, and will
 * take the plain list index to save sorting a few rows, reading the whole organization to find
 * them. So the plan is chosen here, from the table below, and enforced with `+column`, SQLite's
 * documented way to keep an index from serving a term: the first filter present (the most
 * selective) is searched through its index, (organization_id, column, created_at, id), and the
 * other filters only sift what it finds. That index also serves the sort when the filter pins
 * its column to one value and the sort is one the index returns in order; otherwise the sort
 * keys are `+column` too, so no index can win by saving the sort. Unfiltered, the index that
 * serves the ORDER BY is the right one. test/list-filters.test.ts holds each plan to its index
 * (EXPLAIN QUERY PLAN) and to the rows it reads.
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

/** A filter the query has: its condition on its column (or the column kept from an index), and whether it pins one value. */
type Term = { condition: (column: SQLWrapper) => SQL | undefined; single: boolean };

type Filter = {
  column: AnyColumn;
  /** The filter as `filters` ask for it, or undefined when they do not. */
  term: (filters: ListFilters) => Term | undefined;
  /** The sorts its index returns in order once the column is pinned to one value. */
  servesSorts: readonly SortField[];
};

/** The filters, most selective first: the first one present chooses the index. */
const FILTERS: readonly Filter[] = [
  {
    column: invitations.email,
    term: ({ email }) => (email === undefined ? undefined : { condition: (c) => eq(c, email), single: true }),
    // One address: ordered by email, then createdAt, is ordered by createdAt.
    servesSorts: ["createdAt", "email"],
  },
  {
    column: invitations.invitedBy,
    term: ({ invitedBy }) =>
      invitedBy === undefined ? undefined : { condition: (c) => eq(c, invitedBy), single: true },
    servesSorts: ["createdAt"],
  },
  {
    column: invitations.status,
    term: ({ statuses, now }) =>
      statuses && {
        condition: (c) => hasEffectiveStatus(c, statuses, now),
        single: storedStatuses(statuses).length === 1,
      },
    servesSorts: ["createdAt"],
  },
  {
    column: invitations.role,
    term: ({ roles }) => roles && { condition: (c) => inArray(c, [...roles]), single: roles.length === 1 },
    servesSorts: ["createdAt"],
  },
];

/** Each sort, with the ties broken in the same direction, so pages stay stable. */
const ORDER: Record<SortField, readonly AnyColumn[]> = {
  createdAt: [invitations.createdAt, invitations.id],
  expiresAt: [invitations.expiresAt, invitations.id],
  email: [invitations.email, invitations.createdAt, invitations.id],
};

/** The column, kept from serving as an index. */
const unindexed = (column: AnyColumn) => sql`+${column}`;

/** The list's WHERE and ORDER BY for one organization, and whether any filter applies. */
export function listPlan(organizationId: string, filters: ListFilters) {
  const terms = FILTERS.flatMap((filter) => {
    const term = filter.term(filters);
    return term ? [{ ...term, filter }] : [];
  });
  const [first] = terms;
  const where = and(
    eq(invitations.organizationId, organizationId),
    ...terms.map((term, i) => term.condition(i === 0 ? term.filter.column : unindexed(term.filter.column))),
  );
  const sortServed = !first || (first.single && first.filter.servesSorts.includes(filters.sort.field));
  const direction = filters.sort.direction === "asc" ? asc : desc;
  const orderBy = ORDER[filters.sort.field].map((column) =>
    direction(sortServed ? column : unindexed(column)),
  );
  return { where, orderBy, filtered: first !== undefined };
}
