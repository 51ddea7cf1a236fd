import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireRole } from "../lib/auth";
import { BookmarkRequestHeadersSchema, BookmarkResponseHeadersSchema } from "../lib/d1-session";
import { commonErrors, errorResponses } from "../lib/errors";
import { rateLimit } from "../lib/rate-limit";
import { InvitationIdPathSchema, InvitationSchema } from "./invitations.schemas";
import { metadataSchema } from "./metadata";
import { REDIRECT_URL_DESCRIPTION, RedirectUrlSchema } from "./redirect-url";

/** The body of `PATCH /invitations/{id}`: each field given replaces the stored one; `null` clears it. */
export const UpdateInvitationBodySchema = z
  .strictObject({
    publicMetadata: metadataSchema(
      "Replaces the public metadata (shown to the invitee); `null` clears it. Only while the invitation is PENDING or EXPIRED.",
    )
      .nullable()
      .optional(),
    privateMetadata: metadataSchema(
      "Replaces the private metadata (the organization's own); `null` clears it. In any status.",
    )
      .nullable()
      .optional(),
    redirectUrl: RedirectUrlSchema.nullable()
      .optional()
      .openapi({
        description: `Replaces the redirect URL; \`null\` clears it. Only while the invitation is PENDING or EXPIRED. ${REDIRECT_URL_DESCRIPTION}`,
      }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: "Send at least one field to change" })
  .openapi("UpdateInvitationBody");

export const updateInvitation = createRoute({
  method: "patch",
  path: "/invitations/{id}",
  operationId: "updateInvitation",
  tags: ["Invitations"],
  security: [{ bearerAuth: [] }],
  summary: "Update an invitation",
  description:
    "Replaces the fields the body gives (a field left out stays; `null` clears it). The private metadata (the organization's own notes) may change in any status. What the invitee sees (the public metadata, the redirect URL) changes only while the invitation is PENDING or EXPIRED (a resend may revive it); once accepted, declined or revoked, the invitee answered what they saw, so it stays (409 INVITATION_NOT_UPDATABLE). A change publishes `invitation.updated` (nothing when the values are the same). The email, role, status and expiry are not editable: revoke and invite again, or resend. An id of another organization is `404`. Role: ORG_ADMIN.",
  middleware: [authenticate, rateLimit, requireRole("ORG_ADMIN")],
  request: {
    params: InvitationIdPathSchema,
    headers: BookmarkRequestHeadersSchema,
    body: {
      required: true,
      description: "Sent as `application/json`; unknown fields are refused.",
      content: { "application/json": { schema: UpdateInvitationBodySchema } },
    },
  },
  responses: {
    200: {
      description: "The invitation as changed.",
      headers: BookmarkResponseHeadersSchema,
      content: { "application/json": { schema: InvitationSchema } },
    },
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: the id is not a UUID; a body with no field, an unknown field, metadata that is not an object of scalars or shallow values, over 20 keys or over 4096 bytes; a `redirectUrl` that is not an allowed https URL; malformed JSON.",
      ],
      ...commonErrors,
      ["INVITATION_NOT_FOUND", "INVITATION_NOT_FOUND: no such invitation in the caller's organization."],
      [
        "INVITATION_NOT_UPDATABLE",
        "INVITATION_NOT_UPDATABLE: the body changes the public side of an ACCEPTED, DECLINED or REVOKED invitation.",
      ],
      ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: the body is over 16 KiB."],
    ),
  },
});
