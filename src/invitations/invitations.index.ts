import { createRouter } from "../lib/create-router";
import { ApiError } from "../lib/errors";
import * as handlers from "./invitations.handlers";
import * as routes from "./invitations.routes";

/** The invitations resource, mounted under /api/v1. */
export const invitationsRouter = createRouter()
  .openapi(routes.listInvitations, handlers.listInvitations)
  .openapi(routes.createInvitation, handlers.createInvitation)
  // The contract answers a non-UUID id with the same 400 BAD_REQUEST as a non-revocable invitation.
  .openapi(routes.revokeInvitation, handlers.revokeInvitation, (result) => {
    if (!result.success) throw new ApiError("BAD_REQUEST");
  });
