import type { InvitationRow, Status } from "../db/schema";
import { effectiveStatus, sentAtOf } from "./invitation-status";
import type { Invitation } from "./invitations.schemas";

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** A stored row as the API's Invitation, reported with `status`. */
export function invitationWithStatus(row: Omit<InvitationRow, "tokenHash">, status: Status): Invitation {
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
    resendCount: row.resendCount,
    lastSentAt: iso(sentAtOf(row)),
  };
}

/** The one conversion from a stored row to what a read returns: with its effective status at `now`. */
export function toInvitation(row: InvitationRow, now: number): Invitation {
  return invitationWithStatus(row, effectiveStatus(row, now));
}
