import { and, eq, getTableColumns, inArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type InvitationRow, invitations } from "../db/schema";
import { isDue, isLive } from "./invitation-status";
import { deliveryOf, type NewInvitation } from "./invitations.repository";

/*
 * A bulk create's queries: many invitations of one organization written in one round trip, and
 * the dry run's check of which addresses a live invitation holds. Apart from
 * invitations.repository.ts, whose single-row statements they follow.
 */

/** One invitation of a bulk insert: what differs between the rows (the rest is the request's). */
export type NewBulkInvitation = Pick<
  NewInvitation,
  | "id"
  | "email"
  | "role"
  | "tokenHash"
  | "expiresAt"
  | "sendEmail"
  | "publicMetadata"
  | "privateMetadata"
  | "redirectUrl"
>;

/** What a bulk insert's rows share: the request's organization, caller and time. */
export type BulkCommon = Pick<
  NewInvitation,
  "organizationId" | "invitedBy" | "now" | "inviterName" | "organizationName"
>;

/**
 * Inserts many PENDING invitations of one organization in one round trip of two statements,
 * whatever their number: the rows travel as one bound JSON parameter (D1 allows 100 per
 * statement, and a row has 14 values), which the INSERT reads back with `json_each`. As for a
 * single create, past-due PENDING invitations to the same addresses are first recorded as
 * EXPIRED. An address that already has a live PENDING invitation is skipped by the database itself
 * (ON CONFLICT DO NOTHING on the one-pending-per-email index, so a racing create cannot slip in
 * between a check and the write); the rows returned are the ones created. `items` must not repeat
 * an address.
 */
export async function insertInvitations(
  db: Db,
  common: BulkCommon,
  items: readonly NewBulkInvitation[],
): Promise<InvitationRow[]> {
  if (items.length === 0) return [];
  const { organizationId, invitedBy, now } = common;
  const rows = JSON.stringify(
    items.map((item) => [
      item.id,
      item.email,
      item.role,
      item.tokenHash,
      item.expiresAt,
      deliveryOf(item.sendEmail),
      item.publicMetadata,
      item.privateMetadata,
      item.redirectUrl,
    ]),
  );
  const field = (index: number) => sql`value ->> ${sql.raw(String(index))}`;
  // Every column, in the table's order, as the SELECT must give them; a new column fails to compile here.
  const values: Record<keyof typeof invitations.$inferSelect, SQL> = {
    id: field(0),
    organizationId: sql`${organizationId}`,
    email: field(1),
    role: field(2),
    status: sql`'PENDING'`,
    invitedBy: sql`${invitedBy}`,
    createdAt: sql`${now}`,
    updatedAt: sql`${now}`,
    expiresAt: field(4),
    acceptedAt: sql`NULL`,
    acceptedBy: sql`NULL`,
    revokedAt: sql`NULL`,
    revokedBy: sql`NULL`,
    tokenHash: field(3),
    resendCount: sql`0`,
    lastSentAt: sql`${now}`,
    inviterName: sql`${common.inviterName}`,
    organizationName: sql`${common.organizationName}`,
    deliveryStatus: field(5),
    deliveryAttempts: sql`0`,
    deliveryLastAttemptAt: sql`NULL`,
    deliverySentAt: sql`NULL`,
    deliveryLastError: sql`NULL`,
    deliveryClaimedUntil: sql`NULL`,
    declinedAt: sql`NULL`,
    declinedBy: sql`NULL`,
    // An object's `->>` is its JSON text, as the column stores it; null stays NULL.
    publicMetadata: field(6),
    privateMetadata: field(7),
    redirectUrl: field(8),
  };
  const columns = Object.keys(getTableColumns(invitations)) as (keyof typeof values)[];
  const [, inserted] = await db.batch([
    db
      .update(invitations)
      .set({ status: "EXPIRED", updatedAt: now })
      .where(
        and(
          eq(invitations.organizationId, organizationId),
          inArray(invitations.email, sql`(SELECT value ->> 1 FROM json_each(${rows}))`),
          isDue(now),
        ),
      ),
    db
      .insert(invitations)
      // `WHERE true`: SQLite's rule for an upsert on INSERT ... SELECT, which would otherwise be ambiguous.
      .select(
        sql`SELECT ${sql.join(
          columns.map((column) => values[column]),
          sql`, `,
        )} FROM json_each(${rows}) WHERE true`,
      )
      .onConflictDoNothing()
      .returning(),
  ]);
  return inserted;
}

/** Which of `emails` have a live PENDING invitation in the organization: what a dry run reports. */
export async function livePendingEmails(
  db: Db,
  organizationId: string,
  emails: readonly string[],
  now: number,
): Promise<Set<string>> {
  if (emails.length === 0) return new Set();
  const rows = await db
    .select({ email: invitations.email })
    .from(invitations)
    .where(
      and(
        eq(invitations.organizationId, organizationId),
        inArray(invitations.email, sql`(SELECT value FROM json_each(${JSON.stringify(emails)}))`),
        isLive(now),
      ),
    );
  return new Set(rows.map((row) => row.email));
}
