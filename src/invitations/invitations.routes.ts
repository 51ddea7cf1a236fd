import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireRole } from "../lib/auth";
import { BookmarkRequestHeadersSchema, BookmarkResponseHeadersSchema } from "../lib/d1-session";
import { commonErrors, errorResponses } from "../lib/errors";
import {
  CreateInvitationBodySchema,
  InvitationIdParamsSchema,
  InvitationListSchema,
  InvitationSchema,
  ListInvitationsQuerySchema,
  RevokedSchema,
} from "./invitations.schemas";

const tags = ["Invitations"];
const security = [{ bearerAuth: [] }];

export const listInvitations = createRoute({
  method: "get",
  path: "/invitations",
  tags,
  security,
  summary: "List invitations",
  description:
    "The caller's organization's invitations, newest first (`createdAt` descending, then `id` descending), stable across pages. A page past the end is `200` with `data: []` and the true `meta`. Roles: ORG_ADMIN, OPERATOR.",
  middleware: [authenticate, requireRole("ORG_ADMIN", "OPERATOR")] as const,
  request: { query: ListInvitationsQuerySchema, headers: BookmarkRequestHeadersSchema },
  responses: {
    200: {
      description: "A page of invitations.",
      headers: BookmarkResponseHeadersSchema,
      content: { "application/json": { schema: InvitationListSchema } },
    },
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: `page` or `limit` is not an integer in range, or a malformed bookmark.",
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
    "Invites an email address to the caller's organization. The new invitation is PENDING and expires after the configured lifetime. At most one PENDING invitation exists per organization and email (case-insensitive); an expired one does not count. Role: ORG_ADMIN.",
  middleware: [authenticate, requireRole("ORG_ADMIN")] as const,
  request: {
    headers: BookmarkRequestHeadersSchema,
    body: {
      required: true,
      description: "Sent as `application/json`; unknown fields are refused.",
      content: { "application/json": { schema: CreateInvitationBodySchema } },
    },
  },
  responses: {
    201: {
      description: "The created invitation.",
      headers: BookmarkResponseHeadersSchema.extend({
        Location: z.string().openapi({ example: "/api/v1/invitations/497f6eca-6276-4993-bfeb-53cbbbba6f08" }),
      }),
      content: { "application/json": { schema: InvitationSchema } },
    },
    ...errorResponses(
      [
        "VALIDATION_ERROR",
        "VALIDATION_ERROR: invalid email or role, an unknown field, malformed JSON, or a body that is not `application/json`.",
      ],
      ...commonErrors,
      ["CONFLICT", "CONFLICT: a live pending invitation already exists for this email."],
      ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: the body is over 16 KiB."],
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
  middleware: [authenticate, requireRole("ORG_ADMIN")] as const,
  request: { params: InvitationIdParamsSchema, headers: BookmarkRequestHeadersSchema },
  responses: {
    200: {
      description: "The invitation is now REVOKED.",
      headers: BookmarkResponseHeadersSchema,
      content: { "application/json": { schema: RevokedSchema } },
    },
    ...errorResponses(
      [
        "BAD_REQUEST",
        "BAD_REQUEST: the id is not a UUID, or the invitation is not PENDING (accepted, revoked or expired).",
      ],
      ["VALIDATION_ERROR", "VALIDATION_ERROR: a malformed bookmark header."],
      ...commonErrors,
      ["INVITATION_NOT_FOUND", "INVITATION_NOT_FOUND: no such invitation in the caller's organization."],
      ["PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE: a request body over 16 KiB (none is needed)."],
    ),
  },
});
