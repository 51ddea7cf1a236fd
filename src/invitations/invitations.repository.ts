import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type InvitationRow, invitations, type Metadata, type Role } from "../db/schema";
import { isDue, isLive, sentAt } from "./invitation-status";

/*
 * The invitations table's queries, and nothing else: every read and write of `invitations`, each
 * scoped to an organization (or to a link's token), each one round trip. One cohesive thing,
 * over 300 lines for its comments on what each statement guarantees. The rules the queries use
 * are in invitation-status.ts, the list's queries in list-query.ts, a bulk create's statements in
 * bulk.repository.ts, the email's bookkeeping in src/email/delivery.repository.ts.
 */

/** One invitation of the organization, or undefined (also for another organization's id). */
export async function findInvitation(db: Db, organizationId: string, id: string) {
  const [row] = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.id, id), eq(invitations.organizationId, organizationId)));
  return row;
}

/** The invitation a link's token belongs to, in any organization, or undefined. */
export async function findInvitationByTokenHash(db: Db, tokenHash: string) {
  const [row] = await db.select().from(invitations).where(eq(invitations.tokenHash, tokenHash));
  return row;
}

export type NewInvitation = {
  id: string;
  organizationId: string;
  email: string;
  role: Role;
  invitedBy: string;
  tokenHash: string;
  now: number;
  expiresAt: number;
  /** False: no email (delivery SKIPPED); otherwise QUEUED for the email sender. */
  sendEmail: boolean;
  /** The names the email shows, from the caller's token; null when it had none. */
  inviterName: string | null;
  organizationName: string | null;
  /** The organization's metadata for it; null when none was given. */
  publicMetadata: Metadata | null;
  privateMetadata: Metadata | null;
  /** Where the hosted page's button sends the invitee (an allowed origin's URL); null: none. */
  redirectUrl: string | null;
};

/** A new send's delivery: queued for the email sender, or skipped. */
export const deliveryOf = (sendEmail: boolean) => (sendEmail ? "QUEUED" : "SKIPPED");

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
        tokenHash: input.tokenHash,
        lastSentAt: input.now,
        inviterName: input.inviterName,
        organizationName: input.organizationName,
        deliveryStatus: deliveryOf(input.sendEmail),
        publicMetadata: input.publicMetadata,
        privateMetadata: input.privateMetadata,
        redirectUrl: input.redirectUrl,
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
  {
    organizationId,
    id,
    revokedBy,
    now,
  }: { organizationId: string; id: string; revokedBy: string; now: number },
): Promise<RevokeOutcome> {
  const inOrganization = and(eq(invitations.id, id), eq(invitations.organizationId, organizationId));
  const [updated, existing] = await db.batch([
    db
      .update(invitations)
      .set({ status: "REVOKED", revokedAt: now, revokedBy, updatedAt: now })
      .where(and(inOrganization, isLive(now)))
      .returning({ id: invitations.id }),
    db.select({ id: invitations.id }).from(invitations).where(inOrganization),
  ]);
  if (updated.length > 0) return "revoked";
  return existing.length > 0 ? "not_revocable" : "not_found";
}

/** What a conditional write found: the row it changed, or else the row as it stands (if any). */
export type WriteResult =
  | { changed: InvitationRow }
  | { changed: undefined; current: InvitationRow | undefined };

export function writeResult(changed: InvitationRow[], current: InvitationRow[]): WriteResult {
  return changed[0] ? { changed: changed[0] } : { changed: undefined, current: current[0] };
}

export type Resend = {
  organizationId: string;
  id: string;
  /** The new send number: the resend_count the row had, plus one. The link is derived from it. */
  send: number;
  tokenHash: string;
  now: number;
  cooldownMs: number;
  sendEmail: boolean;
  /** The organization's name from the caller's token, when it has one; else the stored one stays. */
  organizationName: string | null;
};

/**
 * Issues a new link for a PENDING or EXPIRED invitation whose last send is at least `cooldownMs`
 * old and whose send number is still `send - 1` (the link was derived for `send`): the new token's
 * digest replaces the old one (so the old link stops working), the status becomes PENDING,
 * `expires_at` moves to now plus the invitation's lifetime (the time its last link had), and the
 * email starts afresh (QUEUED, or SKIPPED). All in one atomic batch that first records a due
 * PENDING invitation to the same address as EXPIRED, as create does; a live one elsewhere makes
 * the batch fail with SQLITE_CONSTRAINT_UNIQUE (409). When nothing is resent, nothing is written
 * and the row as it stands tells why (a concurrent resend moved the send number, say).
 */
export async function resendInvitation(db: Db, input: Resend): Promise<WriteResult> {
  const { organizationId, id, tokenHash, now, cooldownMs } = input;
  const inOrganization = and(eq(invitations.id, id), eq(invitations.organizationId, organizationId));
  const resendable = and(
    inOrganization,
    inArray(invitations.status, ["PENDING", "EXPIRED"]),
    lte(sentAt, now - cooldownMs),
    eq(invitations.resendCount, input.send - 1),
  );
  const [, resent, current] = await db.batch([
    db
      .update(invitations)
      .set({ status: "EXPIRED", updatedAt: now })
      .where(
        and(
          eq(invitations.organizationId, organizationId),
          inArray(
            invitations.email,
            db.select({ email: invitations.email }).from(invitations).where(resendable),
          ),
          isDue(now),
        ),
      ),
    db
      .update(invitations)
      .set({
        status: "PENDING",
        tokenHash,
        // SQLite evaluates every SET expression on the row as it was.
        expiresAt: sql`${now} + ${invitations.expiresAt} - ${sentAt}`,
        lastSentAt: now,
        resendCount: input.send,
        updatedAt: now,
        organizationName: input.organizationName ?? sql`${invitations.organizationName}`,
        deliveryStatus: deliveryOf(input.sendEmail),
        deliveryAttempts: 0,
        deliveryLastAttemptAt: null,
        deliverySentAt: null,
        deliveryLastError: null,
        deliveryClaimedUntil: null,
      })
      .where(resendable)
      .returning(),
    db.select().from(invitations).where(inOrganization),
  ]);
  return writeResult(resent, current);
}

/** What PATCH changes: each field given replaces the stored one (null clears it). */
export type InvitationChanges = {
  publicMetadata?: Metadata | null;
  privateMetadata?: Metadata | null;
  redirectUrl?: string | null;
};

/**
 * Changes an invitation of the organization. The public side (public metadata, redirect URL),
 * which the invitee sees, changes only while the invitation is PENDING or EXPIRED (stored): the
 * condition is in the UPDATE's WHERE, so a concurrent accept, decline or revoke either comes
 * after (and sees the change) or wins (and nothing changes). The probe in the same batch says why.
 */
export async function updateInvitation(
  db: Db,
  {
    organizationId,
    id,
    changes,
    now,
  }: { organizationId: string; id: string; changes: InvitationChanges; now: number },
): Promise<WriteResult> {
  const inOrganization = and(eq(invitations.id, id), eq(invitations.organizationId, organizationId));
  const publicSide = changes.publicMetadata !== undefined || changes.redirectUrl !== undefined;
  const [updated, current] = await db.batch([
    db
      .update(invitations)
      .set({ ...changes, updatedAt: now })
      .where(
        and(inOrganization, publicSide ? inArray(invitations.status, ["PENDING", "EXPIRED"]) : undefined),
      )
      .returning(),
    db.select().from(invitations).where(inOrganization),
  ]);
  return writeResult(updated, current);
}

/** What one batch of the expiry sweep did, with D1's billing units for it. */
export type ExpiredBatch = { expired: number; rowsRead: number; rowsWritten: number };

/**
 * Records as EXPIRED up to `batchSize` PENDING invitations whose `expires_at` is at or before
 * `now`: one atomic UPDATE of the ids its subquery finds due (through the (status, expires_at)
 * index, so it reads about as many rows as it writes). `expired` counts the ids it changed: D1's
 * `meta.changes` also counts the rows the outbox trigger inserts (one event per expiry).
 */
export async function expireDueBatch(db: Db, now: number, batchSize: number): Promise<ExpiredBatch> {
  const { results, meta } = await db
    .update(invitations)
    .set({ status: "EXPIRED", updatedAt: now })
    .where(
      inArray(
        invitations.id,
        db.select({ id: invitations.id }).from(invitations).where(isDue(now)).limit(batchSize),
      ),
    )
    .returning({ id: invitations.id })
    .run();
  return { expired: results.length, rowsRead: meta.rows_read, rowsWritten: meta.rows_written };
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
