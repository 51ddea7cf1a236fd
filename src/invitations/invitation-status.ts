import { and, eq, gt, inArray, lte, ne, or, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { type InvitationRow, invitations, type Status } from "../db/schema";

/*
 * An invitation's status and expiry rules, in one place, for the queries, the wire view and the
 * sweep alike. The expiry boundary: an invitation is due (expired) from the millisecond
 * `now >= expires_at`. `effectiveStatus` says it for a row read into memory; `isDue` and `isLive`
 * say it in SQL.
 */

/**
 * A PENDING row whose expiry has passed is EXPIRED, whatever the sweep has stored so far.
 * Every read goes through this so no caller ever sees a stale PENDING.
 */
export function effectiveStatus(row: InvitationRow, now: number): InvitationRow["status"] {
  return row.status === "PENDING" && row.expiresAt <= now ? "EXPIRED" : row.status;
}

/** Stored as PENDING but past its expiry: what the sweep, or a new invitation, records as EXPIRED. */
export function isDue(now: number) {
  return and(eq(invitations.status, "PENDING"), lte(invitations.expiresAt, now));
}

/**
 * PENDING and not yet expired: the only state that blocks a new invitation, can be revoked or
 * can be accepted.
 */
export function isLive(now: number) {
  return and(eq(invitations.status, "PENDING"), gt(invitations.expiresAt, now));
}

/** When the current link was issued (rows written without `last_sent_at` count from creation). */
export const sentAt = sql<number>`coalesce(${invitations.lastSentAt}, ${invitations.createdAt})`;

/** In memory, the same as `sentAt`. */
export function sentAtOf(row: Pick<InvitationRow, "lastSentAt" | "createdAt">): number {
  return row.lastSentAt ?? row.createdAt;
}

/** The stored statuses that can read as one of `statuses`: a stored PENDING reads as EXPIRED once due. */
export function storedStatuses(statuses: readonly Status[]): Status[] {
  return statuses.includes("EXPIRED") && !statuses.includes("PENDING")
    ? [...statuses, "PENDING"]
    : [...statuses];
}

/**
 * Rows whose effective status is one of `statuses`: a stored status that can read as one of them,
 * then the expiry decides between PENDING and EXPIRED. `status` is the column, or the column kept
 * from serving as an index (see the list).
 */
export function hasEffectiveStatus(
  status: SQLWrapper,
  statuses: readonly Status[],
  now: number,
): SQL | undefined {
  const pending = statuses.includes("PENDING");
  const expired = statuses.includes("EXPIRED");
  const stored = inArray(status, storedStatuses(statuses));
  if (pending === expired) return stored;
  return and(
    stored,
    or(ne(status, "PENDING"), pending ? gt(invitations.expiresAt, now) : lte(invitations.expiresAt, now)),
  );
}
