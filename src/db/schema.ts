import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// Every table in one file, as drizzle.config.ts gives drizzle-kit one schema to diff against the
// migrations: a little over 300 lines is the price of one place to read the whole database.

/** Roles an invitation can grant; also the roles a caller's token can carry. */
export const ROLES = ["ORG_ADMIN", "OPERATOR", "VIEWER"] as const;
export type Role = (typeof ROLES)[number];

/** Stored lifecycle states. `EXPIRED` is also reported for a `PENDING` row past its `expires_at`. */
export const STATUSES = ["PENDING", "ACCEPTED", "REVOKED", "EXPIRED", "DECLINED"] as const;
export type Status = (typeof STATUSES)[number];

/**
 * Where the invitation email of the current send (create or resend) stands: QUEUED until the
 * email consumer sends it (SENT) or gives up (FAILED); SKIPPED when the caller asked for no email
 * (or the invitation stopped being pending before it went out). Apart from `status`: a delivery
 * never changes the invitation's own state.
 */
export const DELIVERY_STATUSES = ["QUEUED", "SENT", "FAILED", "SKIPPED"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** An invitation's public or private metadata: a JSON object of scalars or shallow values. */
export type Metadata = Record<string, unknown>;

/**
 * One row per invitation. Timestamps are Unix epoch milliseconds so that operators can read and
 * compare them with plain SQL (`wrangler d1 execute`).
 * @see https://orm.drizzle.team/docs/indexes-constraints
 */
export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    /** Trimmed and lower-cased on the way in, so equality is case-insensitive. */
    email: text("email").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    status: text("status", { enum: STATUSES }).notNull(),
    invitedBy: text("invited_by").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    acceptedAt: integer("accepted_at"),
    /** The accepting user: the invitee's token `sub`. */
    acceptedBy: text("accepted_by"),
    revokedAt: integer("revoked_at"),
    /** The revoking admin: their token `sub`. */
    revokedBy: text("revoked_by"),
    /**
     * SHA-256 of the invitation link's secret token (base64url), never the token itself. Replaced
     * on resend, so an old link stops working. NULL only for rows written before links existed.
     */
    tokenHash: text("token_hash"),
    resendCount: integer("resend_count").notNull().default(0),
    /**
     * When the current link was issued: at creation, then at each resend. Rows written without
     * it (before the column existed, or by hand) count from `created_at` (see `sentAt`).
     */
    lastSentAt: integer("last_sent_at"),
    /**
     * Names for the email, from the caller's token (`name`, `org_name`), sanitized and bounded
     * (lib/display-name.ts). NULL when the token had none: the email then reads without them.
     */
    inviterName: text("inviter_name"),
    organizationName: text("organization_name"),
    /**
     * The email of the current send (see src/email/). Rows from before email delivery existed,
     * and rows inserted by hand, are SKIPPED: nothing emails them.
     */
    deliveryStatus: text("delivery_status", { enum: DELIVERY_STATUSES }).notNull().default("SKIPPED"),
    /** Attempts of the current send; a resend starts again from 0. */
    deliveryAttempts: integer("delivery_attempts").notNull().default(0),
    deliveryLastAttemptAt: integer("delivery_last_attempt_at"),
    deliverySentAt: integer("delivery_sent_at"),
    /** Why the last attempt failed: the Email Service's error code, or one of ours (src/email/). */
    deliveryLastError: text("delivery_last_error"),
    /**
     * Set while an attempt is in flight (claimed before env.EMAIL.send, cleared by its outcome):
     * what makes the email go at most once per send when the queue redelivers.
     */
    deliveryClaimedUntil: integer("delivery_claimed_until"),
    declinedAt: integer("declined_at"),
    declinedBy: text("declined_by"), // the inbox's token `sub`; NULL when declined by link
    /** JSON objects (invitations/metadata.ts): public shown to the invitee, private not; NULL: none. */
    publicMetadata: text("public_metadata", { mode: "json" }).$type<Metadata>(),
    privateMetadata: text("private_metadata", { mode: "json" }).$type<Metadata>(),
    /** Where the invitee is sent after the page (an allowed origin's URL); NULL: the default. */
    redirectUrl: text("redirect_url"),
  },
  (t) => [
    // The list: one organization, newest first (SQLite walks the index backwards), ties broken by
    // id, with no sort step.
    index("invitations_org_created_idx").on(t.organizationId, t.createdAt, t.id),
    // At most one PENDING invitation per (organization, email): a racing duplicate fails here.
    uniqueIndex("invitations_one_pending_per_email_idx")
      .on(t.organizationId, t.email)
      .where(sql`${t.status} = 'PENDING'`),
    // The expiry sweep: PENDING rows ordered by expires_at, so it reads only what is due.
    index("invitations_status_expires_idx").on(t.status, t.expiresAt),
    // The invitee's inbox: one address's invitations across organizations, per status, newest first.
    index("invitations_email_status_created_idx").on(t.email, t.status, t.createdAt, t.id),
    // The link: lookup and accept find an invitation by its token's digest.
    uniqueIndex("invitations_token_hash_idx").on(t.tokenHash),
    // The email filter (an address has few rows) and the unfiltered list sorted by email.
    index("invitations_org_email_created_idx").on(t.organizationId, t.email, t.createdAt, t.id),
    // Status and role filters, one index per sort: with (status, role) pinned, each returns its rows
    // in sort order from any cursor, so a page merges one range per pair and reads about its rows
    // (list-plan.ts). The expiry index also finds the PENDING rows that came due, by a range.
    index("invitations_org_status_role_created_idx").on(
      t.organizationId,
      t.status,
      t.role,
      t.createdAt,
      t.id,
    ),
    index("invitations_org_status_role_expires_idx").on(
      t.organizationId,
      t.status,
      t.role,
      t.expiresAt,
      t.id,
    ),
    index("invitations_org_status_role_email_idx").on(
      t.organizationId,
      t.status,
      t.role,
      t.email,
      t.createdAt,
      t.id,
    ),
    // The same for one inviter (`invitedBy`), alone or with status and role filters.
    index("invitations_org_inviter_created_idx").on(
      t.organizationId,
      t.invitedBy,
      t.status,
      t.role,
      t.createdAt,
      t.id,
    ),
    index("invitations_org_inviter_expires_idx").on(
      t.organizationId,
      t.invitedBy,
      t.status,
      t.role,
      t.expiresAt,
      t.id,
    ),
    index("invitations_org_inviter_email_idx").on(
      t.organizationId,
      t.invitedBy,
      t.status,
      t.role,
      t.email,
      t.createdAt,
      t.id,
    ),
    check("invitations_role_check", sql`${t.role} IN ('ORG_ADMIN', 'OPERATOR', 'VIEWER')`),
    check(
      "invitations_status_check",
      sql`${t.status} IN ('PENDING', 'ACCEPTED', 'REVOKED', 'EXPIRED', 'DECLINED')`,
    ),
  ],
);

export type InvitationRow = typeof invitations.$inferSelect;

/**
 * Each organization's number of invitations, in every state: the list's `total` without a
 * `count(*)` that reads every row it counts. Kept by triggers on `invitations` (migrations 0002
 * and 0003) inside the statement that inserts, deletes or moves an invitation, so any INSERT,
 * DELETE or UPDATE keeps it exact, whoever runs it. An organization with no invitations has no row
 * (total 0). Read-only for the app. Two things the triggers cannot see: `REPLACE` (its implicit
 * delete fires no trigger unless `recursive_triggers` is on), and a migration that rebuilds
 * `invitations`, which drops the triggers and must create them again. docs/database.md gives the query
 * that checks the counts.
 */
export const organizationInvitationCounts = sqliteTable("organization_invitation_counts", {
  organizationId: text("organization_id").primaryKey(),
  total: integer("total").notNull(),
});

/**
 * Each organization's number of invitations per stored status and role: the filtered list's total
 * without a `count(*)` that reads every row it counts. Kept by triggers on `invitations` (migration
 * 0008) inside the statement that inserts, deletes or changes an invitation's organization, status
 * or role, so any SQL keeps it exact, as `organization_invitation_counts`. Keyed by the stored
 * status's text, so a new status needs no new column. A PENDING row past its expiry still counts
 * as PENDING here until the sweep stores it EXPIRED; the list corrects for those (list-totals.ts).
 * A key whose invitations are gone keeps its row, at 0. Read-only for the app.
 */
export const invitationCounts = sqliteTable(
  "invitation_counts",
  {
    organizationId: text("organization_id").notNull(),
    status: text("status", { enum: STATUSES }).notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    total: integer("total").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.status, t.role] })],
);

/** The same per inviter: the `invitedBy` filter's total (triggers of migration 0008 as well). */
export const inviterInvitationCounts = sqliteTable(
  "inviter_invitation_counts",
  {
    organizationId: text("organization_id").notNull(),
    invitedBy: text("invited_by").notNull(),
    status: text("status", { enum: STATUSES }).notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    total: integer("total").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.invitedBy, t.status, t.role] })],
);

/** The lifecycle events, as `invitation_events.type` and the published event's `type` say them. */
export const EVENT_TYPES = [
  "invitation.created",
  "invitation.resent",
  "invitation.revoked",
  "invitation.accepted",
  "invitation.expired",
  "invitation.declined",
  "invitation.updated",
  "invitation.delivery_failed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * The outbox: one row per change of an invitation's lifecycle, written by triggers on
 * `invitations` (migration 0005) inside the very statement that makes the change, so an event
 * exists exactly when its change does, whichever code (or hand-run SQL) made it. Rows are
 * published to the INVITATION_EVENTS queue after each write and by the cron, then kept for a
 * while for operators (see src/events/). Never holds a token or its digest.
 */
export const invitationEvents = sqliteTable(
  "invitation_events",
  {
    /** Publication order. AUTOINCREMENT: a number is never reused, even after old rows are deleted. */
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    /** The event's id, a UUID: what a consumer deduplicates on (delivery is at least once). */
    id: text("id").notNull().unique(),
    type: text("type", { enum: EVENT_TYPES }).notNull(),
    organizationId: text("organization_id").notNull(),
    invitationId: text("invitation_id").notNull(),
    /** The change's time: the invitation's `updated_at` (its `created_at` for a creation). */
    occurredAt: integer("occurred_at").notNull(),
    /** The invitation as the change left it: a JSON object of its columns, without `token_hash`. */
    invitation: text("invitation", { mode: "json" }).notNull(),
  },
  (t) => [
    // The retention delete: events by age.
    index("invitation_events_occurred_idx").on(t.occurredAt),
  ],
);

export type InvitationEventRow = typeof invitationEvents.$inferSelect;

/**
 * Leases: one row per background task that only one Worker may run at a time, with how far it has
 * got. The outbox's publisher holds `invitation_events` while it reads, sends and records a round
 * of events, so publishers (the jobs consumer, the cron) never read the same rows at once; its
 * `position` is the highest `seq` published, so publishing writes nothing on the events
 * themselves. A holder that dies lets its lease lapse at `held_until`. Rows are created by
 * migration 0007.
 */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  /** A random id per round; NULL when never held. */
  holder: text("holder"),
  /** Epoch ms; the lease is free from then on. */
  heldUntil: integer("held_until").notNull(),
  /** How far the task has got: for the outbox, every event up to this `seq` is published. */
  position: integer("position").notNull().default(0),
});

/**
 * Requests made with an `Idempotency-Key` (create, bulk create, resend, revoke): one row per
 * organization, user and key, kept 24 hours, so a retry gets the first answer instead of a second
 * effect (see src/idempotency/). The key itself is never stored, only its SHA-256; the
 * answer is stored encrypted under a key derived from it, since a create's answer holds the
 * invitation link.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    organizationId: text("organization_id").notNull(),
    /** SHA-256 of the caller's user id and the Idempotency-Key, base64url: keys are per user. */
    keyHash: text("key_hash").notNull(),
    /** SHA-256 of the request it was first used with: operation, path parameters and body. */
    fingerprint: text("fingerprint").notNull(),
    createdAt: integer("created_at").notNull(),
    /** After this the key is free again, and the cron deletes the row. */
    expiresAt: integer("expires_at").notNull(),
    /** While the first request runs: until then a retry is told to wait. NULL once answered. */
    lockedUntil: integer("locked_until"),
    /** The first answer (status, headers, body), AES-GCM encrypted; NULL while it runs. */
    response: text("response"),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.keyHash] }),
    // The cron's cleanup: expired rows, oldest first.
    index("idempotency_keys_expires_idx").on(t.expiresAt),
  ],
);

export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
