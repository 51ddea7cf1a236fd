import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { defaultHook } from "./errors";

/** A router whose zod failures all become the VALIDATION_ERROR envelope. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ strict: false, defaultHook });
}
