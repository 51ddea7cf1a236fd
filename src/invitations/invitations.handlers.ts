import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { InvitationRow } from "../db/schema";
import { idempotent } from "../idempotency/idempotent";
import type { AppEnv } from "../lib/app-env";
import { readConfig } from "../lib/config";
import { ApiError } from "../lib/errors";
import { type LogFields, requestLogger } from "../lib/log";
import { noteChange } from "../lib/request-changes";
import { bulkCreate } from "./bulk-create";
import { effectiveStatus, sentAtOf } from "./invitation-status";
import { hashInvitationToken, invitationLink, inviteUrl, linkBaseFor } from "./invitation-token";
import { toInvitation } from "./invitation-view";
import * as repository from "./invitations.repository";
import type * as routes from "./invitations.routes";
import type { InvitationPreview } from "./invitations.schemas";
import { acceptByToken } from "./invitee-actions";
import { cursorKey, openCursor, sealCursor, sortKeyOf } from "./list-cursor";
import * as listQuery from "./list-query";
import { assertRedirectUrl } from "./redirect-url";

/**
 * Records a change of state: one log line for the audit trail, with ids only (the invitations',
 * their organization's, the acting user's), never an email address or a link; and the request
 * is marked for its events to be published.
 */
export function audit(c: Context<AppEnv>, message: string, fields: LogFields) {
  noteChange(c);
  requestLogger(c)("info", message, fields);
}

export function toPreview(row: InvitationRow, now: number): InvitationPreview {
  const invitation = toInvitation(row, now);
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

/**
 * The invitation with its link, as create, bulk create and resend return it (each answers with
 * `Cache-Control: no-store`, so no cache on the way keeps the link). Without a configured
 * INVITE_URL_BASE the link opens this Worker's own invitation page (PUBLIC_URL, or this request's
 * origin, + /invite): the link the email carries too.
 */
function withLink(c: Context<AppEnv>, row: InvitationRow, token: string, now: number) {
  const base = linkBaseFor(readConfig(c.env), c.req.url);
  return { ...toInvitation(row, now), token, inviteUrl: inviteUrl(base, token) };
}

/** The names the caller's token gave for the email, as stored (null when absent). */
function namesOf(c: Context<AppEnv>) {
  const { name, organizationName } = c.get("principal");
  return { inviterName: name ?? null, organizationName: organizationName ?? null };
}

/** Tries of a resend whose send number moved under it (a concurrent resend, a stale replica). */
const RESEND_TRIES = 3;

export const listInvitations: RouteHandler<typeof routes.listInvitations, AppEnv> = async (c) => {
  const { page = 1, limit, cursor, status, email, role, invitedBy, sort } = c.req.valid("query");
  const { organizationId } = c.get("principal");
  const key = await cursorKey(readConfig(c.env));
  const filters = { statuses: status, email, roles: role, invitedBy, sort };
  const after = cursor === undefined ? undefined : await openCursor(key, organizationId, filters, cursor);
  // Past the end the page is empty anyway; the cap keeps a huge page number a valid SQL integer.
  const offset = after ? 0 : Math.min((page - 1) * limit, Number.MAX_SAFE_INTEGER);
  const now = Date.now();
  // By cursor, one row more tells whether a page follows; by number, the total does.
  const { rows, total } = await listQuery.listInvitations(c.get("db"), organizationId, {
    ...filters,
    limit: after ? limit + 1 : limit,
    offset,
    after,
    now,
  });
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  const more = after ? rows.length > limit : offset + shown.length < total;
  return c.json(
    {
      data: shown.map((row) => toInvitation(row, now)),
      meta: {
        limit,
        page: after ? null : page,
        total,
        totalPages: Math.ceil(total / limit),
        nextCursor:
          more && last ? await sealCursor(key, organizationId, filters, sortKeyOf(last, sort.field)) : null,
      },
    },
    200,
  );
};

export const getInvitation: RouteHandler<typeof routes.getInvitation, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await repository.findInvitation(c.get("db"), c.get("principal").organizationId, id);
  if (!row) throw new ApiError("INVITATION_NOT_FOUND");
  return c.json(toInvitation(row, Date.now()), 200);
};

export const createInvitation: RouteHandler<typeof routes.createInvitation, AppEnv> = (c) =>
  idempotent(c, c.req.valid("json"), async () => {
    const { email, role, expiresInDays, sendEmail, publicMetadata, privateMetadata, redirectUrl } =
      c.req.valid("json");
    const { organizationId, userId } = c.get("principal");
    const config = readConfig(c.env);
    assertRedirectUrl(config, redirectUrl);
    const lifetimeMs = expiresInDays === undefined ? config.invitationTtlMs : expiresInDays * 86_400_000;
    const id = crypto.randomUUID();
    const { token, tokenHash } = await invitationLink(config, id, 0);
    const now = Date.now();
    let row: InvitationRow;
    try {
      row = await repository.insertInvitation(c.get("db"), {
        id,
        organizationId,
        email,
        role,
        invitedBy: userId,
        tokenHash,
        now,
        expiresAt: now + lifetimeMs,
        sendEmail,
        ...namesOf(c),
        publicMetadata: publicMetadata ?? null,
        privateMetadata: privateMetadata ?? null,
        redirectUrl: redirectUrl ?? null,
      });
    } catch (error) {
      if (repository.isPendingEmailConflict(error)) throw new ApiError("CONFLICT");
      throw error;
    }
    audit(c, "Invitation created", {
      invitationId: row.id,
      organizationId,
      actor: userId,
      role: row.role,
    });
    c.header("Location", `/api/v1/invitations/${row.id}`);
    c.header("Cache-Control", "no-store");
    return c.json(withLink(c, row, token, now), 201);
  });

export const bulkCreateInvitations: RouteHandler<typeof routes.bulkCreateInvitations, AppEnv> = (c) =>
  idempotent(c, c.req.valid("json"), async () => {
    const { invitations: items, dryRun } = c.req.valid("json");
    const { organizationId, userId } = c.get("principal");
    const config = readConfig(c.env);
    const now = Date.now();
    const { body, created } = await bulkCreate(c.get("db"), {
      common: { organizationId, invitedBy: userId, now, ...namesOf(c) },
      items,
      dryRun,
      defaultLifetimeMs: config.invitationTtlMs,
      config,
      newLink: (id) => invitationLink(config, id, 0),
      withLink: (row, token) => withLink(c, row, token, now),
    });
    if (created.length > 0) {
      audit(c, "Invitations created in bulk", {
        invitationIds: created.map((row) => row.id),
        organizationId,
        actor: userId,
        requested: items.length,
      });
    }
    c.header("Cache-Control", "no-store");
    return c.json(body, 200);
  });

export const revokeInvitation: RouteHandler<typeof routes.revokeInvitation, AppEnv> = (c) =>
  idempotent(c, c.req.valid("param"), async () => {
    const { id } = c.req.valid("param");
    const { organizationId, userId } = c.get("principal");
    const outcome = await repository.revokeInvitation(c.get("db"), {
      organizationId,
      id,
      revokedBy: userId,
      now: Date.now(),
    });
    if (outcome === "not_found") throw new ApiError("INVITATION_NOT_FOUND");
    if (outcome === "not_revocable") throw new ApiError("BAD_REQUEST");
    audit(c, "Invitation revoked", { invitationId: id, organizationId, actor: userId });
    return c.json({ message: "Invitation revoked" }, 200);
  });

export const resendInvitation: RouteHandler<typeof routes.resendInvitation, AppEnv> = (c) => {
  const { sendEmail } = c.req.valid("json");
  // A resend without `sendEmail: false` is the same request as before the body existed.
  const request = { ...c.req.valid("param"), ...(sendEmail === false && { sendEmail }) };
  return idempotent(c, request, async () => {
    const { id } = c.req.valid("param");
    const { organizationId, userId } = c.get("principal");
    const config = readConfig(c.env);
    const db = c.get("db");
    // The new link is derived from the next send number, so the row's current one comes first.
    let current = await repository.findInvitation(db, organizationId, id);
    let now = Date.now();
    for (let tries = 0; current && tries < RESEND_TRIES; tries++) {
      const send = current.resendCount + 1;
      const { token, tokenHash } = await invitationLink(config, id, send);
      now = Date.now();
      let result: repository.WriteResult;
      try {
        result = await repository.resendInvitation(db, {
          organizationId,
          id,
          send,
          tokenHash,
          now,
          cooldownMs: config.resendCooldownMs,
          sendEmail: sendEmail !== false,
          organizationName: namesOf(c).organizationName,
        });
      } catch (error) {
        if (repository.isPendingEmailConflict(error)) throw new ApiError("CONFLICT");
        throw error;
      }
      if (result.changed) {
        audit(c, "Invitation resent", {
          invitationId: result.changed.id,
          organizationId,
          actor: userId,
          resendCount: result.changed.resendCount,
        });
        c.header("Cache-Control", "no-store");
        return c.json(withLink(c, result.changed, token, now), 200);
      }
      const moved = result.current?.resendCount !== current.resendCount;
      current = result.current;
      if (!moved) break;
    }
    throw resendRefusal(current, now, config.resendCooldownMs);
  });
};

/** Why an invitation was not resent, as the row stands: gone, not resendable, or sent too recently. */
function resendRefusal(current: InvitationRow | undefined, now: number, cooldownMs: number): ApiError {
  if (!current) return new ApiError("INVITATION_NOT_FOUND");
  const status = effectiveStatus(current, now);
  if (status === "ACCEPTED" || status === "REVOKED" || status === "DECLINED") {
    return new ApiError("INVITATION_NOT_RESENDABLE", {
      message: `Only a pending or expired invitation can be resent; this one is ${status}`,
    });
  }
  const retryAfter = Math.max(1, Math.ceil((sentAtOf(current) + cooldownMs - now) / 1000));
  return new ApiError("RATE_LIMITED", {
    message: `This invitation was sent recently; it can be resent in ${retryAfter} seconds`,
    headers: { "Retry-After": String(retryAfter) },
  });
}

export const lookupInvitation: RouteHandler<typeof routes.lookupInvitation, AppEnv> = async (c) => {
  const { token } = c.req.valid("query");
  const row = await repository.findInvitationByTokenHash(c.get("db"), await hashInvitationToken(token));
  if (!row) throw new ApiError("INVITATION_NOT_FOUND");
  c.header("Cache-Control", "no-store");
  return c.json(toPreview(row, Date.now()), 200);
};

export const acceptInvitation: RouteHandler<typeof routes.acceptInvitation, AppEnv> = async (c) => {
  const { token } = c.req.valid("json");
  const invitee = c.get("invitee");
  const now = Date.now();
  const accepted = await acceptByToken(c.get("db"), token, invitee, now);
  audit(c, "Invitation accepted", {
    invitationId: accepted.id,
    organizationId: accepted.organizationId,
    actor: invitee.userId,
  });
  const { privateMetadata: _private, ...shown } = toInvitation(accepted, now);
  return c.json(shown, 200);
};
