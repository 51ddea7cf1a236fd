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

/** The caller of `POST /invitations/accept`: any signed-in user, with no organization needed. */
export type Invitee = {
  /** Token `sub`: recorded as `acceptedBy`. */
  userId: string;
  /** Token `email`, trimmed and lower-cased: must be the address the invitation was sent to. */
  email: string;
};

/**
 * Claims a token must carry once its signature and dates check out. Hono's `verify` only checks
 * `exp` when present, so it is required here.
 */
const BaseClaims = z.object({ sub: z.string().min(1), exp: z.number() });

const MemberClaims = BaseClaims.extend({
  // Any 8-4-4-4-12 hex id: identity providers do not all mint RFC 9562 version/variant bits.
  org_id: z.guid(),
  role: z.enum(ROLES),
});

const InviteeClaims = BaseClaims.extend({
  email: z.string().trim().toLowerCase().min(1),
  email_verified: z.boolean().optional(),
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
 * configured, then the claims `schema` requires. Any failure is 401.
 */
async function verifiedClaims<T>(
  header: string | undefined,
  env: Env,
  schema: z.ZodType<T, unknown>,
): Promise<T> {
  if (!header) {
    throw new ApiError("UNAUTHORIZED", { headers: { "WWW-Authenticate": "Bearer" } });
  }
  const match = /^Bearer +([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(header);
  if (!match?.[1]) throw unauthorized("Malformed bearer token");

  const config = readConfig(env);
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
  const claims = schema.safeParse(payload);
  if (!claims.success) throw unauthorized("Token is missing required claims");
  return claims.data;
}

/** A member of an organization (`sub`, `org_id`, `role`): sets the typed `principal`. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const claims = await verifiedClaims(c.req.header("Authorization"), c.env, MemberClaims);
  c.set("principal", {
    userId: claims.sub,
    organizationId: claims.org_id.toLowerCase(),
    role: claims.role,
  });
  await next();
});

/**
 * Any signed-in user with an email address (`sub`, `email`; no organization needed): sets the
 * typed `invitee`. `email_verified: false` is refused with 403.
 */
export const authenticateInvitee = createMiddleware<AppEnv>(async (c, next) => {
  const claims = await verifiedClaims(c.req.header("Authorization"), c.env, InviteeClaims);
  // An address the identity provider has not verified proves nothing about who holds it.
  if (claims.email_verified === false) throw new ApiError("EMAIL_NOT_VERIFIED");
  c.set("invitee", { userId: claims.sub, email: claims.email });
  await next();
});

/** Allows the request only when the verified principal holds one of `roles`; otherwise 403. */
export function requireRole(...roles: Role[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!roles.includes(c.get("principal").role)) throw new ApiError("FORBIDDEN");
    await next();
  });
}
