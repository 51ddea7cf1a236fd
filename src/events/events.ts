import { z } from "@hono/zod-openapi";
import { EVENT_TYPES, type EventType, type InvitationEventRow, type InvitationRow } from "../db/schema";
import { invitationWithStatus } from "../invitations/invitation-view";
import { InvitationSchema } from "../invitations/invitations.schemas";

/**
 * A lifecycle event as the INVITATION_EVENTS queue carries it and the webhook receives it: which
 * change, when, and the invitation as that change left it. Never the link or its token.
 */
export const InvitationEventSchema = z
  .object({
    id: z.uuid().openapi({
      description:
        "The event's id. Delivery is at least once: the same event may arrive twice, with the same id; deduplicate on it.",
    }),
    type: z.enum(EVENT_TYPES).openapi({
      description:
        "`invitation.created`, `.resent`, `.revoked` and `.accepted` follow those operations. `invitation.expired` is emitted when the expiry is stored: by the cron sweep, or earlier when a new invitation or a resend to the same email records it.",
    }),
    occurredAt: z.iso
      .datetime()
      .openapi({ description: "When the change happened (the invitation's `updatedAt`)." }),
    organizationId: z.uuid().openapi({ description: "The invitation's organization." }),
    invitation: InvitationSchema.openapi({
      description:
        "The invitation right after the change, with its stored status (for `invitation.expired`, EXPIRED). The same fields as the API returns; no token or link.",
    }),
  })
  .openapi("InvitationEvent");

export type InvitationEvent = z.infer<typeof InvitationEventSchema>;

/** What the outbox triggers store of the invitation: its columns, without `token_hash`. */
type StoredInvitation = Omit<InvitationRow, "tokenHash">;

/** An outbox row as the event that is published. */
export function toEvent(row: InvitationEventRow): InvitationEvent {
  const invitation = row.invitation as StoredInvitation;
  return {
    id: row.id,
    type: row.type as EventType,
    occurredAt: new Date(row.occurredAt).toISOString(),
    organizationId: row.organizationId,
    invitation: invitationWithStatus(invitation, invitation.status),
  };
}
