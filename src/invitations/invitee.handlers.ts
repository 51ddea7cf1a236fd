import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../lib/app-env";
import { audit, toPreview } from "./invitations.handlers";
import type * as routes from "./invitee.routes";
import { declineByToken } from "./invitee-actions";

export const declineInvitation: RouteHandler<typeof routes.declineInvitation, AppEnv> = async (c) => {
  const { token } = c.req.valid("json");
  const now = Date.now();
  const declined = await declineByToken(c.get("db"), token, now);
  audit(c, "Invitation declined", { invitationId: declined.id, organizationId: declined.organizationId });
  c.header("Cache-Control", "no-store");
  return c.json(toPreview(declined, now), 200);
};
