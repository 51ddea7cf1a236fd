import type { Context } from "hono";
import type { AppEnv } from "./app-env";

/*
 * "This request changed invitations", kept on the request context: marked where a change is
 * audited, read after the response to publish the change's events (events/publisher.ts). The
 * code that changes invitations only marks; it knows nothing of the outbox.
 */

/** Marks the request as one that changed invitations: its events are published once it has answered. */
export function noteChange(c: Context<AppEnv>): void {
  c.set("invitationsChanged", true);
}

/** Whether the request changed invitations (see `noteChange`). */
export function changedInvitations(c: Context<AppEnv>): boolean {
  return c.get("invitationsChanged") === true;
}
