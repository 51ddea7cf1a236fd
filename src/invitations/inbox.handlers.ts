import type { RouteHandler } from "@hono/zod-openapi";
import type { InvitationRow } from "../db/schema";
import type { AppEnv } from "../lib/app-env";
import { readConfig } from "../lib/config";
import type * as routes from "./inbox.routes";
import type { MyInvitation } from "./inbox.schemas";
import { toInvitation } from "./invitation-view";
import { audit } from "./invitations.handlers";
import { inboxPage } from "./invitee.repository";
import { acceptById, declineById } from "./invitee-actions";
import { cursorKey, openCursor, sealCursor } from "./list-cursor";

/** An invitation as its invitee's inbox shows it, with its effective status at `now`. */
export function toMyInvitation(row: InvitationRow, now: number): MyInvitation {
  const { id, organizationId, role, status, invitedBy, createdAt, expiresAt, publicMetadata } = toInvitation(
    row,
    now,
  );
  return {
    id,
    organizationId,
    organizationName: row.organizationName,
    role,
    status,
    invitedBy,
    inviterName: row.inviterName,
    createdAt,
    expiresAt,
    publicMetadata,
  };
}

/** The cursor's associated data: a cursor of one address's inbox opens for no other list. */
const inboxOf = (email: string) => `inbox:${email}`;

const NEWEST_FIRST = { field: "createdAt", direction: "desc" } as const;

export const listMyInvitations: RouteHandler<typeof routes.listMyInvitations, AppEnv> = async (c) => {
  const { status = ["PENDING"], limit, cursor } = c.req.valid("query");
  const { email } = c.get("invitee");
  const key = await cursorKey(readConfig(c.env));
  const filters = { statuses: status, sort: NEWEST_FIRST };
  const after = cursor === undefined ? undefined : await openCursor(key, inboxOf(email), filters, cursor);
  const now = Date.now();
  const rows = await inboxPage(c.get("db"), {
    email,
    statuses: status,
    limit: limit + 1,
    after: after as [number, string] | undefined,
    now,
  });
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  const nextCursor =
    rows.length > limit && last
      ? await sealCursor(key, inboxOf(email), filters, [last.createdAt, last.id])
      : null;
  c.header("Cache-Control", "no-store");
  return c.json({ data: shown.map((row) => toMyInvitation(row, now)), meta: { limit, nextCursor } }, 200);
};

export const acceptMyInvitation: RouteHandler<typeof routes.acceptMyInvitation, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const invitee = c.get("invitee");
  const now = Date.now();
  const accepted = await acceptById(c.get("db"), id, invitee, now);
  audit(c, "Invitation accepted", {
    invitationId: accepted.id,
    organizationId: accepted.organizationId,
    actor: invitee.userId,
  });
  return c.json(toMyInvitation(accepted, now), 200);
};

export const declineMyInvitation: RouteHandler<typeof routes.declineMyInvitation, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const invitee = c.get("invitee");
  const now = Date.now();
  const declined = await declineById(c.get("db"), id, invitee, now);
  audit(c, "Invitation declined", {
    invitationId: declined.id,
    organizationId: declined.organizationId,
    actor: invitee.userId,
  });
  return c.json(toMyInvitation(declined, now), 200);
};
