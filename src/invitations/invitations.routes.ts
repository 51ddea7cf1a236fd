import { createRoute, z } from "@hono/zod-openapi";
import type { Role } from "../db/schema";
import { IdempotentRequestHeadersSchema, ReplayedHeaderSchema } from "../idempotency/idempotency.headers";
import { authenticate, authenticateInvitee, requireRole } from "../lib/auth";
import { BookmarkRequestHeadersSchema, BookmarkResponseHeadersSchema } from "../lib/d1-session";
import { emptyBodyIsNoBody } from "../lib/empty-body";
import {
  commonErrors,
  type ErrorEntry,
  errorResponses,
  idempotencyErrors,
  internalServerError,
  rateLimitedError,
} from "../lib/errors";
import { rateLimit } from "../lib/rate-limit";
import { BulkCreateInvitationsBodySchema, BulkCreateInvitationsResponseSchema } from "./bulk.schemas";
import { ResendInvitationBodySchema } from "./delivery.schemas";
import {
  AcceptInvitationBodySchema,
  CreateInvitationBodySchema,
  InvitationIdPathSchema,
  InvitationPreviewSchema,
  InvitationSchema,
  InvitationWithLinkSchema,
  InviteeInvitationSchema,
  LookupQuerySchema,
  RevokedSchema,
  RevokeInvitationParamsSchema,
} from "./invitations.schemas";
import { InvitationListSchema, ListInvitationsQuerySchema } from "./list.schemas";

/*
 * The invitations API's contract: one createRoute per operation, readable on its own (what it
 * takes, who may call, every answer it can give). One cohesive thing, over 300 lines for the
 * descriptions a client reads.
 */

const tags = ["Invitations"];
const security = [{ bearerAuth: [] }];

/**
 * The chain of an organization member's operation: the token (401), the rate limit (429), then
 * the role (403), before any input is validated (400).
 */
function members(...roles: Role[]) {
  return [authenticate, rateLimit, requireRole(...roles)];
}

/** An idempotent operation's answer may be a replay, and says so. */
const replayed = ReplayedHeaderSchema.shape;

// Error entries several operations share, word for word.
const notInOrganization: ErrorEntry = [
  "INVITATION_NOT_FOUND",
  "INVITATION_NOT_FOUND: no such invitation in the caller's organization.",
];
const unknownLink: ErrorEntry = [
  "INVITATION_NOT_FOUND",
  "INVITATION_NOT_FOUND: no invitation has this token (or it was replaced).",
];
const bodyTooLarge: ErrorEntry = [
  "PAYLOAD_TOO_LARGE",
  "PAYLOAD_TOO_LARGE: a request body over 16 KiB (none is needed).",
];

/** A JSON request body, required. */
function jsonBody<S extends z.ZodType>(description: string, schema: S) {
  return { required: true, description, content: { "application/json": { schema } } };
}

/** A success answer: its description, JSON body and headers. */
function answer<S extends z.ZodType, H extends z.ZodObject>(description: string, schema: S, headers: H) {
  return { description, headers, content: { "application/json": { schema } } };
}

/** Responses that carry a link's secret, or show what one unlocks, are never stored by a cache. */
const NoStoreHeadersSchema = BookmarkResponseHeadersSchema.extend({
  "Cache-Control": z.literal("no-store").openapi({ example: "no-store" }),
});

export const listInvitations = createRoute({
  method: "get",
  path: "/invitations",
  tags,
  security,
  summary: "List invitations",
  description:
    "The caller's organization's invitations, newest first (`createdAt` descending, then `id` descending) unless `sort` says otherwise, stable across pages. Filters combine (all must match) and `meta.total` counts what they match, exactly. Page by number (`page`, `limit`) for page links and page counts; a page past the end is `200` with `data: []` and the true `meta`, and a deep page reads every row before it. Page by cursor (`cursor` = the previous page's `meta.nextCursor`, with the same `sort` and filters) for load-more lists, exports and syncs: each page costs about `limit` rows at any depth, and rows written meanwhile never make one repeat or go missing. Every page has `meta.nextCursor` (`null` on the last). Roles: ORG_ADMIN, OPERATOR.",
  middleware: members("ORG_ADMIN", "OPERATOR"),
  request: { query: ListInvitationsQuerySchema, headers: BookmarkRequestHeadersSchema },
  responses: {
    200: answer("A page of invitations.", InvitationListSchema, BookmarkResponseHeadersSchema),
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: `page` or `limit` is not an integer in range, an unknown `status`, `role` or `sort`, an empty `email` or `invitedBy`, a malformed bookmark; a `cursor` this API did not give out for this organization (or altered, or made under a rotated `CURSOR_SECRET`), one sent with another `sort` or other filters than the list it came from (`details.cursor`), or sent with `page` (`details.page`).",
      ],
      ...commonErrors,
    ),
  },
});

export const createInvitation = createRoute({
  method: "post",
  path: "/invitations",
  tags,
  security,
  summary: "Create an invitation",
  description:
    "Invites an email address to the caller's organization. The new invitation is PENDING and expires after `expiresInDays`, or the configured lifetime. At most one PENDING invitation exists per organization and email (case-insensitive); an expired one does not count. The service emails the invitee the link (off the request: `delivery` says how it went; `sendEmail: false` skips it), with the inviter's and the organization's names when the caller's token carries `name` and `org_name`. The response carries the link (`token`, `inviteUrl`) too: this and a resend are the only times it is shown. Role: ORG_ADMIN.",
  middleware: members("ORG_ADMIN"),
  request: {
    headers: IdempotentRequestHeadersSchema,
    body: jsonBody("Sent as `application/json`; unknown fields are refused.", CreateInvitationBodySchema),
  },
  responses: {
    201: answer(
      "The created invitation, with its link.",
      InvitationWithLinkSchema,
      NoStoreHeadersSchema.extend({
        Location: z.string().openapi({ example: "/api/v1/invitations/497f6eca-6276-4993-bfeb-53cbbbba6f08" }),
      }).extend(replayed),
    ),
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: invalid email, role, expiresInDays, sendEmail, metadata (see `publicMetadata`), a `redirectUrl` that is not an https URL of an allowed origin (`REDIRECT_ORIGINS`), an unknown field, malformed JSON, a body that is not `application/json`, or a malformed Idempotency-Key.",
      ],
      ...commonErrors,
      ["CONFLICT", "CONFLICT: a live pending invitation already exists for this email."],
      ...idempotencyErrors,
      ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: the body is over 16 KiB."],
    ),
  },
});

export const bulkCreateInvitations = createRoute({
  method: "post",
  path: "/invitations/bulk",
  tags,
  security,
  summary: "Create invitations in bulk",
  description:
    "Up to 100 invitations in one request, each item as the body of a single create, with one result per item in the request's order: `created` (with its invitation and link), or why not: `duplicate` (an earlier item has the same address), `already_pending` (a live pending invitation exists; the database decides, as for a single create) or `invalid` (with the validation details). Items are independent: an invalid or conflicting item does not stop the others. The answer is `200` whatever the outcomes; `summary` counts them. With `dryRun: true` nothing is written and no link is issued: items that would be created now say `would_create`. All created items are written in one D1 round trip. The request counts once against the write rate limit. Role: ORG_ADMIN.",
  middleware: members("ORG_ADMIN"),
  request: {
    headers: IdempotentRequestHeadersSchema,
    body: jsonBody(
      "Sent as `application/json`, at most 64 KiB; unknown top-level fields are refused.",
      BulkCreateInvitationsBodySchema,
    ),
  },
  responses: {
    200: answer(
      "One result per item, and the counts.",
      BulkCreateInvitationsResponseSchema,
      NoStoreHeadersSchema.extend(replayed),
    ),
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: `invitations` is missing, empty, over 100 items or not an array, `dryRun` is not a boolean, an unknown top-level field, malformed JSON, a body that is not `application/json`, or a malformed Idempotency-Key. (An invalid item is a result, not this error.)",
      ],
      ...commonErrors,
      ...idempotencyErrors,
      ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: the body is over 64 KiB."],
    ),
  },
});

export const revokeInvitation = createRoute({
  method: "delete",
  path: "/invitations/{id}",
  tags,
  security,
  summary: "Revoke an invitation",
  description:
    "Revokes a PENDING, unexpired invitation of the caller's organization; it becomes REVOKED. An id of another organization is `404`, exactly as if it did not exist. Role: ORG_ADMIN.",
  middleware: members("ORG_ADMIN"),
  request: { params: RevokeInvitationParamsSchema, headers: IdempotentRequestHeadersSchema },
  responses: {
    200: answer(
      "The invitation is now REVOKED.",
      RevokedSchema,
      BookmarkResponseHeadersSchema.extend(replayed),
    ),
    ...errorResponses(
      [
        "BAD_REQUEST",
        "BAD_REQUEST: the id is not a UUID, or the invitation is not PENDING (accepted, revoked, declined or expired).",
      ],
      ["VALIDATION_ERROR", "VALIDATION_ERROR: a malformed bookmark or Idempotency-Key header."],
      ...commonErrors,
      notInOrganization,
      ...idempotencyErrors,
      bodyTooLarge,
    ),
  },
});

export const getInvitation = createRoute({
  method: "get",
  path: "/invitations/{id}",
  tags,
  security,
  summary: "Get an invitation",
  description:
    "One invitation of the caller's organization, with its effective status. An id of another organization is `404`, exactly as if it did not exist. Roles: ORG_ADMIN, OPERATOR.",
  middleware: members("ORG_ADMIN", "OPERATOR"),
  request: { params: InvitationIdPathSchema, headers: BookmarkRequestHeadersSchema },
  responses: {
    200: answer("The invitation.", InvitationSchema, BookmarkResponseHeadersSchema),
    ...errorResponses(
      ["VALIDATION_ERROR", "VALIDATION_ERROR: the id is not a UUID, or a malformed bookmark."],
      ...commonErrors,
      notInOrganization,
    ),
  },
});

export const resendInvitation = createRoute({
  method: "post",
  path: "/invitations/{id}/resend",
  tags,
  security,
  summary: "Resend an invitation",
  description:
    'Issues a new link for a PENDING or EXPIRED invitation and returns it, as create does: the old link stops working, the id stays, the status becomes PENDING, `expiresAt` moves to now plus the invitation\'s lifetime, `resendCount` goes up by one and `lastSentAt` is now. The new link is emailed (a fresh `delivery`, whatever became of the last one) unless the optional body says `{ "sendEmail": false }`; no body, or an empty one, emails it. A revoked, accepted or declined invitation cannot be resent. One invitation can be sent at most once per `RESEND_COOLDOWN_SECONDS` (create counts as a send). Role: ORG_ADMIN.',
  middleware: [...members("ORG_ADMIN"), emptyBodyIsNoBody],
  request: {
    params: InvitationIdPathSchema,
    headers: IdempotentRequestHeadersSchema,
    body: {
      required: false,
      description: "Optional, as `application/json`; unknown fields are refused.",
      content: { "application/json": { schema: ResendInvitationBodySchema } },
    },
  },
  responses: {
    200: answer(
      "The invitation with its new link.",
      InvitationWithLinkSchema,
      NoStoreHeadersSchema.extend(replayed),
    ),
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: the id is not a UUID, a malformed bookmark or Idempotency-Key, or a body that is not a JSON object with at most a boolean `sendEmail`.",
      ],
      ...commonErrors,
      notInOrganization,
      [
        "INVITATION_NOT_RESENDABLE",
        "INVITATION_NOT_RESENDABLE: the invitation is REVOKED, ACCEPTED or DECLINED (the invitee said no: invite the address anew instead, which a declined invitation does not block).",
      ],
      [
        "CONFLICT",
        "CONFLICT: the invitation is EXPIRED and another live pending invitation now exists for its email.",
      ],
      ...idempotencyErrors,
      [
        "RATE_LIMITED",
        "RATE_LIMITED: the invitation was sent less than `RESEND_COOLDOWN_SECONDS` ago; `Retry-After` says how many seconds remain.",
      ],
      ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: the body is over 16 KiB."],
    ),
  },
});

export const lookupInvitation = createRoute({
  method: "get",
  path: "/invitations/lookup",
  tags,
  security: [],
  summary: "Preview an invitation by its link",
  description:
    "What the holder of an invitation link sees before accepting: the organization, email, role, inviter, effective status and expiry; never the token. Needs no bearer token (the link's token is the credential) and changes nothing, so a mail scanner that follows the link cannot use it up. A revoked, accepted or expired invitation is still shown, with its status; a replaced link (after a resend) is `404`.",
  middleware: [rateLimit] as const,
  request: { query: LookupQuerySchema, headers: BookmarkRequestHeadersSchema },
  responses: {
    200: answer("The invitation's preview.", InvitationPreviewSchema, NoStoreHeadersSchema),
    ...errorResponses(
      ["VALIDATION_ERROR", "VALIDATION_ERROR: `token` is missing or not 43 base64url characters."],
      unknownLink,
      rateLimitedError("the client's IP address"),
      internalServerError,
    ),
  },
});

export const acceptInvitation = createRoute({
  method: "post",
  path: "/invitations/accept",
  tags,
  security,
  summary: "Accept an invitation",
  description:
    "Called by the invitee, with their own bearer token: `sub` and `email` required, no organization needed (`org_id` and `role` are ignored), and `email_verified` must not be `false`. Only a live PENDING invitation sent to the caller's email becomes ACCEPTED. The token's `email` is compared as addresses are stored: ASCII whitespace trimmed and `A`–`Z` lower-cased, nothing else (no Unicode case mapping), so an address with any other character (a Kelvin sign `K`, a dotless `ı`, a full-width letter, a no-break space) is a different mailbox and gets 403 INVITATION_EMAIL_MISMATCH, with `acceptedAt` and `acceptedBy`; otherwise nothing changes. Of concurrent accepts and declines (and a revoke, or the expiry) exactly one succeeds; a declined invitation cannot be accepted (410 INVITATION_DECLINED). Adding the user to the organization is the membership system's job.",
  middleware: [authenticateInvitee, rateLimit] as const,
  request: {
    headers: BookmarkRequestHeadersSchema,
    body: jsonBody("Sent as `application/json`; unknown fields are refused.", AcceptInvitationBodySchema),
  },
  responses: {
    200: answer(
      "The accepted invitation, without its private metadata (the organization's own).",
      InviteeInvitationSchema,
      BookmarkResponseHeadersSchema,
    ),
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
      ["INVITATION_ALREADY_ACCEPTED", "INVITATION_ALREADY_ACCEPTED: the invitation was accepted before."],
      ["INVITATION_EXPIRED", "INVITATION_EXPIRED: the invitation has expired."],
      ["INVITATION_REVOKED", "INVITATION_REVOKED: the invitation was revoked."],
      ["INVITATION_DECLINED", "INVITATION_DECLINED: the invitee declined the invitation."],
      ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: the body is over 16 KiB."],
      internalServerError,
    ),
  },
});
