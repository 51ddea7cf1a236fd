import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { type Config, readConfig } from "./config";
import { memo } from "./memo";

/** Hono's CORS middleware for the configured origins, built once per isolate (and configuration). */
const corsHandler = memo(
  (config: Config): MiddlewareHandler =>
    cors({
      origin: config.corsOrigins,
      allowMethods: ["GET", "POST", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "X-D1-Bookmark", "Idempotency-Key"],
      exposeHeaders: ["X-Request-Id", "X-D1-Bookmark", "Retry-After", "Location", "Idempotent-Replayed"],
      maxAge: 600,
    }),
);

/**
 * CORS from configuration: closed unless CORS_ORIGINS lists origins, and then open to exactly
 * those (no wildcard, no credentials: the API takes bearer tokens, not cookies). Browsers may
 * send the headers the API reads and read the ones it sets.
 */
export const corsFromConfig = createMiddleware<AppEnv>(async (c, next) => {
  const config = readConfig(c.env);
  if (config.corsOrigins.length === 0) return next();
  return corsHandler(config)(c, next);
});
