import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { verify } from "hono/jwt";
import { ROLES, type Role } from "../db/schema";
import { type Config, readConfig } from "./config";
import type { AppEnv } from "./create-router";
import { ApiError } from "./errors";

/** The caller, as established by a verified bearer token. */
export type Principal = {
  /** Token `sub`: the user id, recorded as `invitedBy`. */
  userId: string;
  /** Token `org_id`: every query is scoped to it. */
  organizationId: string;
  role: Role;
};

/**
 * Claims a token must carry once its signature and dates check out. Hono's `verify` only checks
 * `exp` when present, so it is required here.
 */
const ClaimsSchema = z.object({
  sub: z.string().min(1),
  // Any 8-4-4-4-12 hex id: identity providers do not all mint RFC 9562 version/variant bits.
  org_id: z.guid(),
  role: z.enum(ROLES),
  exp: z.number(),
});

function unauthorized(description: string): ApiError {
  // RFC 6750 §3: say why in the challenge, keep the body the plain contract envelope.
  return new ApiError("UNAUTHORIZED", {
    headers: { "WWW-Authenticate": `Bearer error="invalid_token", error_description="${description}"` },
  });
}

const keys = new WeakMap<Config, Promise<CryptoKey>>();

/** JWT_SECRET imported once per isolate (and configuration), not on every request. */
function verificationKey(config: Config): Promise<CryptoKey> {
  let key = keys.get(config);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(config.jwtSecret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    keys.set(config, key);
  }
  return key;
}

/**
 * Verifies `Authorization: Bearer <JWT>`: HS256 only (the algorithm is pinned, so `none`, RS256
 * and friends are refused), signature with JWT_SECRET, `exp`/`nbf`/`iat`, and `iss`/`aud` when
 * configured. Sets the typed `principal`. Any failure is 401.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("Authorization");
  if (!header) {
    throw new ApiError("UNAUTHORIZED", { headers: { "WWW-Authenticate": "Bearer" } });
  }
  const match = /^Bearer +([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(header);
  if (!match?.[1]) throw unauthorized("Malformed bearer token");

  const config = readConfig(c.env);
  let payload: unknown;
  try {
    payload = await verify(match[1], await verificationKey(config), {
      alg: "HS256",
      iss: config.jwtIssuer,
      aud: config.jwtAudience,
    });
  } catch {
    throw unauthorized("Token verification failed");
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized("Token is missing required claims");

  c.set("principal", {
    userId: claims.data.sub,
    organizationId: claims.data.org_id.toLowerCase(),
    role: claims.data.role,
  });
  await next();
});

/** Allows the request only when the verified principal holds one of `roles`; otherwise 403. */
export function requireRole(...roles: Role[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!roles.includes(c.get("principal").role)) throw new ApiError("FORBIDDEN");
    await next();
  });
}
