import { createRoute, z } from "@hono/zod-openapi";
import { authenticateInvitee } from "../lib/auth";
import { BookmarkRequestHeadersSchema, BookmarkResponseHeadersSchema } from "../lib/d1-session";
import { type ErrorEntry, errorResponses, internalServerError, rateLimitedError } from "../lib/errors";
import { rateLimit } from "../lib/rate-limit";
import {
  AcceptInvitationBodySchema,
  DeclineInvitationBodySchema,
  InvitationPreviewSchema,
  InviteeInvitationSchema,
} from "./invitations.schemas";

/*
 * The invitee's answers by link: accepting (with their own bearer token) and declining (the link
 * is the credential). The inbox, answering by id, is in inbox.routes.ts.
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

const unknownLink: ErrorEntry = [
  "INVITATION_NOT_FOUND",
  "INVITATION_NOT_FOUND: no invitation has this token (or it was replaced).",
];

export const acceptInvitation = createRoute({
  method: "post",
  path: "/invitations/accept",
  operationId: "acceptInvitation",
  tags,
  security: [{ bearerAuth: [] }],
  summary: "Accept an invitation",
  description:
    "Called by the invitee, with their own bearer token: `sub` and `email` required, no organization needed (`org_id` and `role` are ignored), and `email_verified` must not be `false`. Only a live PENDING invitation sent to the caller's email becomes ACCEPTED. The token's `email` is compared as addresses are stored: ASCII whitespace trimmed and `A`–`Z` lower-cased, nothing else (no Unicode case mapping), so an address with any other character (a Kelvin sign `K`, a dotless `ı`, a full-width letter, a no-break space) is a different mailbox and gets 403 INVITATION_EMAIL_MISMATCH, with `acceptedAt` and `acceptedBy`; otherwise nothing changes. Of concurrent accepts and declines (and a revoke, or the expiry) exactly one succeeds; a declined invitation cannot be accepted (410 INVITATION_DECLINED). Adding the user to the organization is the membership system's job.",
  middleware: [authenticateInvitee, rateLimit] as const,
  request: {
    headers: BookmarkRequestHeadersSchema,
    body: {
      required: true,
      description: "Sent as `application/json`; unknown fields are refused.",
      content: { "application/json": { schema: AcceptInvitationBodySchema } },
    },
  },
  responses: {
    200: {
      description: "The accepted invitation, without its private metadata (the organization's own).",
      headers: BookmarkResponseHeadersSchema,
      content: { "application/json": { schema: InviteeInvitationSchema } },
    },
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: `token` is missing or malformed, an unknown field, malformed JSON, or a body that is not `application/json`.",
      ],
      [
        "UNAUTHORIZED",
        "UNAUTHORIZED: missing, malformed, expired or otherwise invalid bearer token, or one without `sub` or `email`.",
      ],
      ["EMAIL_NOT_VERIFIED", "EMAIL_NOT_VERIFIED: the token says `email_verified: false`."],
      rateLimitedError("this user"),
      [
        "INVITATION_EMAIL_MISMATCH",
        "INVITATION_EMAIL_MISMATCH: the invitation was sent to another address than the token's `email`.",
      ],
      unknownLink,
      ...notPendingErrors,
      bodyTooLarge,
      internalServerError,
    ),
  },
});

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
      unknownLink,
      ...notPendingErrors,
      bodyTooLarge,
      rateLimitedError("the client's IP address"),
      internalServerError,
    ),
  },
});
