import type { RouteHandler } from "@hono/zod-openapi";
import type { InvitationRow } from "../db/schema";
import { readConfig } from "../lib/config";
import type { AppEnv } from "../lib/create-router";
import { ApiError } from "../lib/errors";
import * as repository from "./invitations.repository";
import type * as routes from "./invitations.routes";
import type { Invitation } from "./invitations.schemas";

const iso = (ms: number) => new Date(ms).toISOString();

/** The one conversion from a stored row to the API's Invitation, with its effective status. */
export function toInvitation(row: InvitationRow, now: number): Invitation {
  return {
    id: row.id,
    organizationId: row.organizationId,
    email: row.email,
    role: row.role,
    status: repository.effectiveStatus(row, now),
    invitedBy: row.invitedBy,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    expiresAt: iso(row.expiresAt),
    acceptedAt: row.acceptedAt === null ? null : iso(row.acceptedAt),
  };
}

export const listInvitations: RouteHandler<typeof routes.listInvitations, AppEnv> = async (c) => {
  const { page, limit } = c.req.valid("query");
  const { organizationId } = c.get("principal");
  // Past the end the page is empty anyway; the cap keeps a huge page number a valid SQL integer.
  const offset = Math.min((page - 1) * limit, Number.MAX_SAFE_INTEGER);
  const now = Date.now();
  const { rows, total } = await repository.listInvitations(c.get("db"), organizationId, {
    limit,
    offset,
  });
  return c.json(
    {
      data: rows.map((row) => toInvitation(row, now)),
      meta: { limit, page, total, totalPages: Math.ceil(total / limit) },
    },
    200,
  );
};

export const createInvitation: RouteHandler<typeof routes.createInvitation, AppEnv> = async (c) => {
  const { email, role } = c.req.valid("json");
  const { organizationId, userId } = c.get("principal");
  const now = Date.now();
  let row: InvitationRow;
  try {
    row = await repository.insertInvitation(c.get("db"), {
      id: crypto.randomUUID(),
      organizationId,
      email,
      role,
      invitedBy: userId,
      now,
      expiresAt: now + readConfig(c.env).invitationTtlMs,
    });
  } catch (error) {
    if (repository.isPendingEmailConflict(error)) throw new ApiError("CONFLICT");
    throw error;
  }
  c.header("Location", `/api/v1/invitations/${row.id}`);
  return c.json(toInvitation(row, now), 201);
};

export const revokeInvitation: RouteHandler<typeof routes.revokeInvitation, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { organizationId } = c.get("principal");
  const outcome = await repository.revokeInvitation(c.get("db"), organizationId, id, Date.now());
  if (outcome === "not_found") throw new ApiError("INVITATION_NOT_FOUND");
  if (outcome === "not_revocable") throw new ApiError("BAD_REQUEST");
  return c.json({ message: "Invitation revoked" }, 200);
};
