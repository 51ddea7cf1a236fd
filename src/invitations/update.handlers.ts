import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../lib/app-env";
import { readConfig } from "../lib/config";
import { ApiError } from "../lib/errors";
import { toInvitation } from "./invitation-view";
import { audit } from "./invitations.handlers";
import * as repository from "./invitations.repository";
import { assertRedirectUrl } from "./redirect-url";
import type * as routes from "./update.routes";

export const updateInvitation: RouteHandler<typeof routes.updateInvitation, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const { organizationId, userId } = c.get("principal");
  assertRedirectUrl(readConfig(c.env), changes.redirectUrl);
  const now = Date.now();
  const result = await repository.updateInvitation(c.get("db"), { organizationId, id, changes, now });
  if (!result.changed) {
    throw new ApiError(result.current ? "INVITATION_NOT_UPDATABLE" : "INVITATION_NOT_FOUND");
  }
  audit(c, "Invitation updated", {
    invitationId: id,
    organizationId,
    actor: userId,
    fields: Object.keys(changes),
  });
  return c.json(toInvitation(result.changed, now), 200);
};
