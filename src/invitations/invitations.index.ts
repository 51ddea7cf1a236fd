import { createRouter } from "../lib/create-router";
import { ApiError, defaultHook } from "../lib/errors";
import * as inboxHandlers from "./inbox.handlers";
import * as inboxRoutes from "./inbox.routes";
import * as handlers from "./invitations.handlers";
import * as routes from "./invitations.routes";
import * as inviteeHandlers from "./invitee.handlers";
import * as inviteeRoutes from "./invitee.routes";
import * as updateHandlers from "./update.handlers";
import * as updateRoutes from "./update.routes";

/** The invitations resource, mounted under /api/v1. */
export const invitationsRouter = createRouter()
  .openapi(routes.listInvitations, handlers.listInvitations)
  .openapi(routes.createInvitation, handlers.createInvitation)
  .openapi(routes.bulkCreateInvitations, handlers.bulkCreateInvitations)
  // Before `/invitations/{id}`, which would otherwise take "lookup", "accept" and "decline" for ids.
  .openapi(routes.lookupInvitation, handlers.lookupInvitation)
  .openapi(routes.acceptInvitation, handlers.acceptInvitation)
  .openapi(inviteeRoutes.declineInvitation, inviteeHandlers.declineInvitation)
  .openapi(routes.getInvitation, handlers.getInvitation)
  .openapi(inboxRoutes.listMyInvitations, inboxHandlers.listMyInvitations)
  .openapi(inboxRoutes.acceptMyInvitation, inboxHandlers.acceptMyInvitation)
  .openapi(inboxRoutes.declineMyInvitation, inboxHandlers.declineMyInvitation)
  .openapi(routes.resendInvitation, handlers.resendInvitation)
  .openapi(updateRoutes.updateInvitation, updateHandlers.updateInvitation)
  // The contract answers a non-UUID id with the same 400 BAD_REQUEST as a non-revocable invitation;
  // other input (a malformed bookmark header) fails validation as everywhere else.
  .openapi(routes.revokeInvitation, handlers.revokeInvitation, (result) => {
    if (!result.success && result.target === "param") throw new ApiError("BAD_REQUEST");
    defaultHook(result);
  });
