import { and, eq, getTableColumns, inArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type InvitationRow, invitations } from "../db/schema";
import { deliveryOf, type NewInvitation } from "./invitations.repository";
import { livePendingFilter, totalOf } from "./list-query";

/*
 * Creating invitations: the INSERT of one (a create) or many (a bulk create) invitations of one
 * organization in one round trip, within the organization's cap on pending invitations, and the
 * dry run's reads. Apart from invitations.repository.ts, whose statements they follow.
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
 * PENDING and due (or live) at `now`, kept from serving as an index: with the addresses given, the
 * (organization_id, email) index must serve, or SQLite's planner (which has no statistics here)
 * takes (status, expires_at) and reads every organization's pending invitations.
 */
const pendingAt = (now: number, due: boolean) =>
  and(
    sql`+${invitations.status} = 'PENDING'`,
    due ? sql`+${invitations.expiresAt} <= ${now}` : sql`+${invitations.expiresAt} > ${now}`,
  );

/** The organization's live PENDING invitations, as one SQL expression: the list's exact total. */
const livePending = (organizationId: string, now: number) => totalOf(organizationId, livePendingFilter(now));

export type InsertOptions = {
  /** MAX_PENDING_INVITATIONS: the most live PENDING invitations the organization may have. */
  cap: number;
  /**
   * True (bulk): an address with a live PENDING invitation is skipped, and takes no room under
   * the cap. False (create): it fails the batch with SQLITE_CONSTRAINT_UNIQUE, for a 409.
   */
  skipLivePending: boolean;
};

export type Inserted = {
  created: InvitationRow[];
  /** Which of the items' addresses have a live PENDING invitation once the batch ran (created ones too). */
  livePending: Set<string>;
};

/**
 * Inserts PENDING invitations of one organization in one round trip of three statements, whatever
 * their number: the rows travel as one bound JSON parameter (D1 allows 100 per statement, and a
 * row has 14 values), which the INSERT reads back with `json_each`.
 *
 * 1. Past-due PENDING invitations to the same addresses are recorded as EXPIRED, so they free
 *    the one-pending-per-address index (and the cap) before the sweep gets to them.
 * 2. The INSERT takes the items in order and stores as many as fit under `cap`, in the same
 *    statement that counts: the organization's live pending invitations (its PENDING counter
 *    less the rows that came due, a range of the expiry index; list-query.ts) are read once, and
 *    only items ranked within `cap` minus that are inserted. D1 runs one statement at a time, so
 *    concurrent creates each see the count the one before left: together they never pass the
 *    cap. With `skipLivePending`, an address that has a live PENDING invitation is left out
 *    before ranking (ON CONFLICT DO NOTHING on the unique index backs it up).
 * 3. Which of the addresses now have a live PENDING invitation: tells an item that was not
 *    created because its address is taken from one left out by the cap.
 *
 * `items` must not repeat an address.
 */
export async function insertInvitations(
  db: Db,
  common: BulkCommon,
  items: readonly NewBulkInvitation[],
  options: InsertOptions,
): Promise<Inserted> {
  if (items.length === 0) return { created: [], livePending: new Set() };
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
  const inOrganization = eq(invitations.organizationId, organizationId);
  const taken = sql`EXISTS (SELECT 1 FROM ${invitations} WHERE ${inOrganization} AND ${invitations.email} = value ->> 1 AND ${invitations.status} = 'PENDING')`;
  const ranked = sql`SELECT value, row_number() OVER (ORDER BY key) AS rank FROM json_each(${rows})${
    options.skipLivePending ? sql` WHERE NOT ${taken}` : sql``
  }`;
  const insert = db.insert(invitations).select(
    sql`SELECT ${sql.join(
      columns.map((column) => values[column]),
      sql`, `,
    )} FROM (${ranked}) WHERE rank <= ${options.cap} - ${livePending(organizationId, now)}`,
  );
  const emails = sql`(SELECT value ->> 1 FROM json_each(${rows}))`;
  const [, created, live] = await db.batch([
    db
      .update(invitations)
      .set({ status: "EXPIRED", updatedAt: now })
      .where(and(inOrganization, inArray(invitations.email, emails), pendingAt(now, true))),
    (options.skipLivePending ? insert.onConflictDoNothing() : insert).returning(),
    db
      .select({ email: invitations.email })
      .from(invitations)
      .where(and(inOrganization, inArray(invitations.email, emails), pendingAt(now, false))),
  ]);
  return { created, livePending: new Set(live.map((row) => row.email)) };
}

/**
 * What a dry run reports: which of `emails` have a live PENDING invitation in the organization,
 * and how many more PENDING invitations fit under `cap`. One round trip.
 */
export async function dryRunReads(
  db: Db,
  organizationId: string,
  emails: readonly string[],
  { now, cap }: { now: number; cap: number },
): Promise<{ livePending: Set<string>; room: number }> {
  const [rows, counted] = await db.batch([
    db
      .select({ email: invitations.email })
      .from(invitations)
      .where(
        and(
          eq(invitations.organizationId, organizationId),
          inArray(invitations.email, sql`(SELECT value FROM json_each(${JSON.stringify(emails)}))`),
          pendingAt(now, false),
        ),
      ),
    db.select({ live: livePending(organizationId, now).mapWith(Number) }).from(sql`(SELECT 1)`),
  ]);
  const live = counted[0]?.live ?? 0;
  return { livePending: new Set(rows.map((row) => row.email)), room: Math.max(0, cap - live) };
}
