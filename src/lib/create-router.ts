import { OpenAPIHono } from "@hono/zod-openapi";
import type { RequestIdVariables } from "hono/request-id";
import type { Db } from "../db/client";
import type { Invitee, Principal } from "./auth";
import { defaultHook } from "./errors";

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
    /** Set when the request changed invitations, so their events are published after it. */
    invitationsChanged: boolean;
  };
};

/** A router whose zod failures all become the VALIDATION_ERROR envelope. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ strict: false, defaultHook });
}
