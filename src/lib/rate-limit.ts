import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";
import { requestLogger } from "./log";

/**
 * The window of both limiters, in seconds: `period` of the [[ratelimits]] in wrangler.toml, and
 * what `Retry-After` says. A client that waits this long is in a new window whatever its phase.
 */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

/**
 * Who a request counts against: the member (organization and user), the invitee (user), or, for
 * the preview that needs no token, the client's IP address.
 */
function rateLimitKey(c: Context<AppEnv>): string {
  const principal = c.get("principal");
  if (principal) return `member:${principal.organizationId}:${principal.userId}`;
  const invitee = c.get("invitee");
  if (invitee) return `invitee:${invitee.userId}`;
  return `ip:${c.req.header("CF-Connecting-IP") ?? "unknown"}`;
}

/**
 * Counts the request against the Workers Rate Limiting binding for its kind (GET: reads, anything
 * else: writes) and answers 429 RATE_LIMITED with Retry-After once the key is over its limit.
 * Runs after authentication (the key needs the caller) and before the role check, so refused
 * attempts count too.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const write = c.req.method !== "GET" && c.req.method !== "HEAD";
  const limiter = write ? c.env.RATE_LIMIT_WRITES : c.env.RATE_LIMIT_READS;
  const { success } = await limiter.limit({ key: rateLimitKey(c) });
  if (!success) {
    const principal = c.get("principal");
    requestLogger(c)("warn", "Rate limited", {
      limiter: write ? "writes" : "reads",
      organizationId: principal?.organizationId,
      userId: principal?.userId ?? c.get("invitee")?.userId,
      method: c.req.method,
      // The route's pattern, not the path the client wrote (which could hold anything).
      route: c.req.routePath,
    });
    throw new ApiError("RATE_LIMITED", { headers: { "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS) } });
  }
  await next();
});
