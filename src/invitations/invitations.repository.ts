import { and, desc, eq, gt, lte } from "drizzle-orm";
import type { Db } from "../db/client";
import { type InvitationRow, invitations, organizationInvitationCounts, type Role } from "../db/schema";

/*
 * The expiry boundary, in one place: an invitation is due (expired) from the millisecond
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

/** PENDING and not yet expired: the only state that blocks a new invitation or can be revoked. */
function isLive(now: number) {
  return and(eq(invitations.status, "PENDING"), gt(invitations.expiresAt, now));
}

/**
 * One page of an organization's invitations, newest first, and their total, in one round trip.
 * The total comes from the trigger-kept counter: one row read, whatever the organization's size.
 */
export async function listInvitations(
  db: Db,
  organizationId: string,
  { limit, offset }: { limit: number; offset: number },
): Promise<{ rows: InvitationRow[]; total: number }> {
  const [rows, totals] = await db.batch([
    db
      .select()
      .from(invitations)
      .where(eq(invitations.organizationId, organizationId))
      .orderBy(desc(invitations.createdAt), desc(invitations.id))
      .limit(limit)
      .offset(offset),
    db
      .select({ total: organizationInvitationCounts.total })
      .from(organizationInvitationCounts)
      .where(eq(organizationInvitationCounts.organizationId, organizationId)),
  ]);
  return { rows, total: totals[0]?.total ?? 0 };
}

export type NewInvitation = {
  id: string;
  organizationId: string;
  email: string;
  role: Role;
  invitedBy: string;
  now: number;
  expiresAt: number;
};

/**
 * Inserts a PENDING invitation. In the same atomic batch, a past-due PENDING invitation to the
 * same address is first recorded as EXPIRED, so it frees the one-pending-per-email index before
 * the sweep gets to it. A live one makes the insert fail with SQLITE_CONSTRAINT_UNIQUE, which
 * rolls the whole batch back; the caller maps that to 409.
 */
export async function insertInvitation(db: Db, input: NewInvitation): Promise<InvitationRow> {
  const [, inserted] = await db.batch([
    db
      .update(invitations)
      .set({ status: "EXPIRED", updatedAt: input.now })
      .where(
        and(
          eq(invitations.organizationId, input.organizationId),
          eq(invitations.email, input.email),
          isDue(input.now),
        ),
      ),
    db
      .insert(invitations)
      .values({
        id: input.id,
        organizationId: input.organizationId,
        email: input.email,
        role: input.role,
        status: "PENDING",
        invitedBy: input.invitedBy,
        createdAt: input.now,
        updatedAt: input.now,
        expiresAt: input.expiresAt,
        acceptedAt: null,
      })
      .returning(),
  ]);
  const row = inserted[0];
  if (!row) throw new Error("Insert returned no row");
  return row;
}

export type RevokeOutcome = "revoked" | "not_revocable" | "not_found";

/**
 * Revokes a live PENDING invitation of the organization. The conditional update and the existence
 * probe run in one batch (one round trip, one snapshot), which tells "not yours or absent" (404)
 * apart from "not revocable in its state" (400) without a read-then-write race.
 */
export async function revokeInvitation(
  db: Db,
  organizationId: string,
  id: string,
  now: number,
): Promise<RevokeOutcome> {
  const inOrganization = and(eq(invitations.id, id), eq(invitations.organizationId, organizationId));
  const [updated, existing] = await db.batch([
    db
      .update(invitations)
      .set({ status: "REVOKED", updatedAt: now })
      .where(and(inOrganization, isLive(now)))
      .returning({ id: invitations.id }),
    db.select({ id: invitations.id }).from(invitations).where(inOrganization),
  ]);
  if (updated.length > 0) return "revoked";
  return existing.length > 0 ? "not_revocable" : "not_found";
}

/**
 * True when `error` (or anything in its `cause` chain, as Drizzle wraps driver errors) is a
 * violation of the one-pending-per-email index, and not, say, a primary-key clash.
 */
export function isPendingEmailConflict(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.message.includes("UNIQUE constraint failed: invitations.organization_id, invitations.email")) {
      return true;
    }
  }
  return false;
}
