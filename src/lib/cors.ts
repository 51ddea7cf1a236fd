import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { type Config, readConfig } from "./config";

const handlers = new WeakMap<Config, MiddlewareHandler>();

/**
 * CORS from configuration: closed unless CORS_ORIGINS lists origins, and then open to exactly
 * those (no wildcard, no credentials: the API takes bearer tokens, not cookies). Browsers may
 * send the headers the API reads and read the ones it sets.
 */
export const corsFromConfig = createMiddleware<AppEnv>(async (c, next) => {
  const config = readConfig(c.env);
  if (config.corsOrigins.length === 0) return next();
  let handler = handlers.get(config);
  if (!handler) {
    handler = cors({
      origin: config.corsOrigins,
      allowMethods: ["GET", "POST", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type", "X-D1-Bookmark", "Idempotency-Key"],
      exposeHeaders: ["X-Request-Id", "X-D1-Bookmark", "Retry-After", "Location", "Idempotent-Replayed"],
      maxAge: 600,
    });
    handlers.set(config, handler);
  }
  return handler(c, next);
});
