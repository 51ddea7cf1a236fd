import { createRoute, z } from "@hono/zod-openapi";
import { BookmarkRequestHeadersSchema, BookmarkResponseHeadersSchema } from "../lib/d1-session";
import { type ErrorEntry, errorResponses, internalServerError, rateLimitedError } from "../lib/errors";
import { rateLimit } from "../lib/rate-limit";
import { DeclineInvitationBodySchema, InvitationPreviewSchema } from "./invitations.schemas";

/*
 * The invitee's operations beside accepting by link (invitations.routes.ts): declining by link,
 * and the inbox (the invitations sent to the caller's address, and answering them by id).
 */

const tags = ["Invitee"];

/** Answers that show what a link unlocks are never stored by a cache. */
const NoStoreHeadersSchema = BookmarkResponseHeadersSchema.extend({
  "Cache-Control": z.literal("no-store").openapi({ example: "no-store" }),
});

/** Why an answer (accept or decline) finds the invitation no longer pending. */
export const notPendingErrors: ErrorEntry[] = [
  ["INVITATION_ALREADY_ACCEPTED", "INVITATION_ALREADY_ACCEPTED: the invitation was accepted before."],
  ["INVITATION_EXPIRED", "INVITATION_EXPIRED: the invitation has expired."],
  ["INVITATION_REVOKED", "INVITATION_REVOKED: the invitation was revoked."],
  ["INVITATION_DECLINED", "INVITATION_DECLINED: the invitation was declined."],
];

const bodyTooLarge: ErrorEntry = ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: the body is over 16 KiB."];

export const declineInvitation = createRoute({
  method: "post",
  path: "/invitations/decline",
  operationId: "declineInvitation",
  tags,
  security: [],
  summary: "Decline an invitation by its link",
  description:
    "The invitee says no. The link's token is the credential, as for the preview: no bearer token is needed (the hosted page's Decline button works signed out), and no user is recorded (`declinedBy` stays `null`). Only a live PENDING invitation becomes DECLINED (`declinedAt` set); `invitation.declined` is published; the address is free for a new invitation at once; it can no longer be accepted (`INVITATION_DECLINED`), resent or revoked. Of concurrent accepts, declines, revokes and the expiry, exactly one wins; the others get the code of the state it left. Declining twice is `410 INVITATION_DECLINED`. Rate-limited per client IP address, as writes.",
  middleware: [rateLimit] as const,
  request: {
    headers: BookmarkRequestHeadersSchema,
    body: {
      required: true,
      description: "Sent as `application/json`; unknown fields are refused.",
      content: { "application/json": { schema: DeclineInvitationBodySchema } },
    },
  },
  responses: {
    200: {
      description: "The declined invitation, as the preview shows it.",
      headers: NoStoreHeadersSchema,
      content: { "application/json": { schema: InvitationPreviewSchema } },
    },
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: `token` is missing or malformed, an unknown field, malformed JSON, or a body that is not `application/json`.",
      ],
      ["INVITATION_NOT_FOUND", "INVITATION_NOT_FOUND: no invitation has this token (or it was replaced)."],
      ...notPendingErrors,
      bodyTooLarge,
      rateLimitedError("the client's IP address"),
      internalServerError,
    ),
  },
});
