import type { RequestIdVariables } from "hono/request-id";
import type { Db } from "../db/client";
import type { Role } from "../db/schema";
import type { D1Cost } from "./d1-cost";

/*
 * The request context's types, which middleware, handlers and the error renderer all share. Types
 * only, and nothing of ours but the database's types: every module may import it without an
 * import circle.
 */

/** The caller, as established by a verified bearer token. */
export type Principal = {
  /** Token `sub`: the user id, recorded as `invitedBy`. */
  userId: string;
  /** Token `org_id`: every query is scoped to it. */
  organizationId: string;
  role: Role;
  /**
   * Token `name` and `org_name`, when present: the names an invitation email shows, sanitized
   * and bounded (display-name.ts). Optional claims; a token without them is as good.
   */
  name?: string;
  organizationName?: string;
};

/** The caller of `POST /invitations/accept`: any signed-in user, with no organization needed. */
export type Invitee = {
  /** Token `sub`: recorded as `acceptedBy`. */
  userId: string;
  /**
   * Token `email`, with ASCII whitespace trimmed and `A`–`Z` lower-cased (nothing else): must be
   * the address the invitation was sent to.
   */
  email: string;
};

/** Bindings and per-request variables every handler sees. */
export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & {
    /** Set by `authenticate`, on the operations of an organization's members. */
    principal: Principal;
    /** Set by `authenticateInvitee`, on accept. */
    invitee: Invitee;
    /** The request's database: a D1 session (see d1-session.ts). */
    db: Db;
    /** What the request has asked of D1 so far, logged when it answers (cost-log.ts). */
    d1Cost: D1Cost;
    /** Set when the request changed invitations, so their events are published after it. */
    invitationsChanged: boolean;
  };
};
