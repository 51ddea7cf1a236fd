/**
 * The bench Worker (bench/worker.ts) under `wrangler dev`, as `npm run bench` and `npm run bench:list`
 * start it: on a local database, with the HS256 secret its callers' tokens are signed with.
 */
import { sign } from "hono/jwt";
import { type DevServer, startDev } from "../scripts/wrangler-dev.ts";
import { CONFIG } from "./database.ts";

const SECRET = "bench-secret-not-for-production-0123456789";

/** An ORG_ADMIN of `org`, valid for an hour: the Authorization header. */
export async function auth(org: string, sub = "bench"): Promise<{ Authorization: string }> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return {
    Authorization: `Bearer ${await sign({ sub, org_id: org, role: "ORG_ADMIN", exp }, SECRET, "HS256")}`,
  };
}

/** An invitee signed in as `email` (no organization), valid for an hour: the Authorization header. */
export async function inviteeAuth(email: string): Promise<{ Authorization: string }> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return { Authorization: `Bearer ${await sign({ sub: `invitee-${email}`, email, exp }, SECRET, "HS256")}` };
}

/**
 * Starts the bench Worker on the local database in `persistTo`; ready once it answers. With
 * `log`, Wrangler's output (the Worker's log lines among it) goes to that file.
 */
export function startBenchWorker(
  persistTo: string,
  { log, vars = {}, args }: { log?: string; vars?: Record<string, string>; args?: string[] } = {},
): Promise<DevServer> {
  return startDev({
    config: CONFIG,
    persistTo,
    vars: { JWT_SECRET: SECRET, ...vars },
    logLevel: log === undefined ? "warn" : "log",
    log,
    args,
    readyPath: "/__bench/constant",
    ready: (status) => status >= 200 && status < 300,
  });
}
