import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../lib/app-env";
import { toInvitation } from "./invitation-view";
import { audit, toPreview } from "./invitations.handlers";
import type * as routes from "./invitee.routes";
import { acceptByToken, declineByToken } from "./invitee-actions";

export const declineInvitation: RouteHandler<typeof routes.declineInvitation, AppEnv> = async (c) => {
  const { token } = c.req.valid("json");
  const now = Date.now();
  const declined = await declineByToken(c.get("db"), token, now);
  audit(c, "Invitation declined", { invitationId: declined.id, organizationId: declined.organizationId });
  c.header("Cache-Control", "no-store");
  return c.json(toPreview(declined, now), 200);
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
