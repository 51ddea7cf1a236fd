/**
 * The peer: Better Auth's organization plugin, as its documentation sets it up (its Drizzle
 * adapter over D1, the bearer plugin for API calls with a session token), running in the bench
 * Worker on the same local D1 database as the app, on tables of its own (bench/peer/schema.ts,
 * created and seeded by bench/database.ts). Its routes are under PEER_BASE_PATH. Never part of the
 * Worker: only the bench imports it.
 */
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { bearer, organization } from "better-auth/plugins";
import { drizzle } from "drizzle-orm/d1";
import { PEER_BASE_PATH } from "./base-path";
import * as schema from "./schema";

function peerAuth(db: D1Database) {
  return betterAuth({
    basePath: PEER_BASE_PATH,
    baseURL: "http://127.0.0.1",
    secret: "bench-peer-secret-not-for-production-0123456789",
    database: drizzleAdapter(drizzle(db, { schema }), { provider: "sqlite", schema }),
    telemetry: { enabled: false },
    advanced: { disableCSRFCheck: true, disableOriginCheck: true },
    plugins: [
      bearer(),
      organization({
        // The default (100 pending per organization) would refuse invites under load; ours has none.
        invitationLimit: Number.MAX_SAFE_INTEGER,
        // Email is sent off the request path in ours (a queue); nothing to send here.
        async sendInvitationEmail() {},
      }),
    ],
  });
}

/** One instance per D1 binding object (per isolate for the timed load; fresh for measured requests). */
const instances = new WeakMap<D1Database, ReturnType<typeof peerAuth>>();

export function peerFetch(request: Request, db: D1Database): Promise<Response> {
  let auth = instances.get(db);
  if (!auth) {
    auth = peerAuth(db);
    instances.set(db, auth);
  }
  return auth.handler(request);
}
