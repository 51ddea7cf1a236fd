import { createRoute, z } from "@hono/zod-openapi";
import { authenticateInvitee } from "../lib/auth";
import { BookmarkRequestHeadersSchema, BookmarkResponseHeadersSchema } from "../lib/d1-session";
import { type ErrorEntry, errorResponses, internalServerError, rateLimitedError } from "../lib/errors";
import { rateLimit } from "../lib/rate-limit";
import { ListMyInvitationsQuerySchema, MyInvitationListSchema, MyInvitationSchema } from "./inbox.schemas";
import { InvitationIdPathSchema } from "./invitations.schemas";
import { notPendingErrors } from "./invitee.routes";

/*
 * The invitee's inbox: the invitations sent to the address of the caller's token, across
 * organizations, and answering one by its id. The same token as accepting by link (`sub`,
 * `email`, `email_verified` not false), compared the same way (ASCII case and whitespace only).
 */

const tags = ["Invitee"];
const security = [{ bearerAuth: [] }];

const NoStoreHeadersSchema = BookmarkResponseHeadersSchema.extend({
  "Cache-Control": z.literal("no-store").openapi({ example: "no-store" }),
});

const inviteeErrors: ErrorEntry[] = [
  [
    "UNAUTHORIZED",
    "UNAUTHORIZED: missing, malformed, expired or otherwise invalid bearer token, or one without `sub` or `email`.",
  ],
  ["EMAIL_NOT_VERIFIED", "EMAIL_NOT_VERIFIED: the token says `email_verified: false`."],
  rateLimitedError("this user"),
  internalServerError,
];

const notMine: ErrorEntry = [
  "INVITATION_NOT_FOUND",
  "INVITATION_NOT_FOUND: no invitation with this id was sent to the token's `email` (one sent to another address is the same: its existence is not revealed).",
];

export const listMyInvitations = createRoute({
  method: "get",
  path: "/me/invitations",
  operationId: "listMyInvitations",
  tags,
  security,
  summary: "List my invitations",
  description:
    "The invitations sent to the caller's address (the token's `email`, compared as addresses are stored: ASCII whitespace trimmed, `A`–`Z` lower-cased, nothing else), across organizations, newest first (`createdAt`, then `id`, descending). PENDING ones by default; `status` asks for others. Paged by cursor (`meta.nextCursor`): each page reads about `limit` rows, whatever the depth. There is no total (counting would read every match); a page of up to 100 tells an app how many are pending. Never the link or its token, nor what only the organization sees. The caller's token needs `sub` and `email` and no organization, as for accepting.",
  middleware: [authenticateInvitee, rateLimit] as const,
  request: { query: ListMyInvitationsQuerySchema, headers: BookmarkRequestHeadersSchema },
  responses: {
    200: {
      description: "A page of the caller's invitations.",
      headers: NoStoreHeadersSchema,
      content: { "application/json": { schema: MyInvitationListSchema } },
    },
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: `limit` not an integer from 1 to 100, an unknown `status`, a malformed bookmark; a `cursor` this API did not give out for this address's inbox (or altered), or sent with another `status` (`details.cursor`).",
      ],
      ...inviteeErrors,
    ),
  },
});

/** Accept and decline from the inbox: the same path, answer and errors but the verb. */
function answerRoute<Verb extends "accept" | "decline">(verb: Verb) {
  const accept = verb === "accept";
  return createRoute({
    method: "post",
    path: `/me/invitations/{id}/${verb}`,
    operationId: accept ? "acceptMyInvitation" : "declineMyInvitation",
    tags,
    security,
    summary: accept ? "Accept one of my invitations" : "Decline one of my invitations",
    description: `${accept ? "Accepts" : "Declines"} the invitation \`id\` sent to the caller's address, as ${accept ? "accepting" : "declining"} by link does: only a live PENDING one becomes ${accept ? "ACCEPTED (`acceptedBy` is the token's `sub`)" : "DECLINED (`declinedBy` is the token's `sub`)"}, and of concurrent accepts, declines, revokes and the expiry exactly one wins. An id sent to another address is \`404\`, exactly as an unknown one. No body.`,
    middleware: [authenticateInvitee, rateLimit] as const,
    request: { params: InvitationIdPathSchema, headers: BookmarkRequestHeadersSchema },
    responses: {
      200: {
        description: `The ${accept ? "accepted" : "declined"} invitation, as the inbox shows it.`,
        headers: BookmarkResponseHeadersSchema,
        content: { "application/json": { schema: MyInvitationSchema } },
      },
      ...errorResponses(
        ["VALIDATION_ERROR", "VALIDATION_ERROR: the id is not a UUID, or a malformed bookmark."],
        notMine,
        ...notPendingErrors,
        ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: a body over 16 KiB (none is needed)."],
        ...inviteeErrors,
      ),
    },
  });
}

export const acceptMyInvitation = answerRoute("accept");
export const declineMyInvitation = answerRoute("decline");
