import type { InvitationRow, Status } from "../db/schema";
import type { Delivery } from "./delivery.schemas";
import { effectiveStatus, sentAtOf } from "./invitation-status";
import type { Invitation } from "./invitations.schemas";
import { shownMetadata } from "./metadata";

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** The stored columns an Invitation is made of (an event's snapshot has them too). */
export type StoredInvitation = Omit<InvitationRow, "tokenHash">;

/** The current send's email, as the API shows it. */
function deliveryOf(row: StoredInvitation): Delivery {
  return {
    status: row.deliveryStatus,
    attempts: row.deliveryAttempts,
    lastAttemptAt: isoOrNull(row.deliveryLastAttemptAt),
    sentAt: isoOrNull(row.deliverySentAt),
    lastError: row.deliveryLastError,
  };
}

/** A stored row as the API's Invitation, reported with `status`. */
export function invitationWithStatus(row: StoredInvitation, status: Status): Invitation {
  return {
    id: row.id,
    organizationId: row.organizationId,
    email: row.email,
    role: row.role,
    status,
    invitedBy: row.invitedBy,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    expiresAt: iso(row.expiresAt),
    acceptedAt: isoOrNull(row.acceptedAt),
    acceptedBy: row.acceptedBy,
    revokedAt: isoOrNull(row.revokedAt),
    revokedBy: row.revokedBy,
    declinedAt: isoOrNull(row.declinedAt),
    declinedBy: row.declinedBy,
    resendCount: row.resendCount,
    lastSentAt: iso(sentAtOf(row)),
    delivery: deliveryOf(row),
    publicMetadata: shownMetadata(row.publicMetadata),
    privateMetadata: shownMetadata(row.privateMetadata),
    redirectUrl: row.redirectUrl,
  };
}

/** The one conversion from a stored row to what a read returns: with its effective status at `now`. */
export function toInvitation(row: InvitationRow, now: number): Invitation {
  return invitationWithStatus(row, effectiveStatus(row, now));
}
