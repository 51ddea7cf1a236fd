import type { Invitation } from "./helpers";

/*
 * What the invitee is shown of an invitation, written out from the admin's view so a test states
 * the expected answer itself (never by calling the code under test).
 */

/** The link's preview (GET /invitations/lookup): the public fields, never the private metadata. */
export function preview(invitation: Invitation) {
  const { id, organizationId, email, role, status, invitedBy, createdAt, expiresAt } = invitation;
  const { publicMetadata, redirectUrl } = invitation;
  return {
    id,
    organizationId,
    email,
    role,
    status,
    invitedBy,
    createdAt,
    expiresAt,
    publicMetadata,
    redirectUrl,
  };
}

/** What accept answers the invitee: all but the organization's private metadata. */
export function asInvitee({ privateMetadata: _, ...shown }: Invitation) {
  return shown;
}
