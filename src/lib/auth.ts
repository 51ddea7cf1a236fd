import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { decode, verify } from "hono/jwt";
import { ROLES, type Role } from "../db/schema";
import type { AppEnv } from "./app-env";
import { type Config, readConfig } from "./config";
import { toDisplayName } from "./display-name";
import { normalizeEmail } from "./email-address";
import { ApiError } from "./errors";
import { JWKS_ALGORITHMS, JwksCache } from "./jwks";
import { type Logger, requestLogger } from "./log";
import { memo } from "./memo";

/**
 * Claims a token must carry once its signature and dates check out. Hono's `verify` only checks
 * `exp` when present, so it is required here.
 */
const BaseClaims = z.object({ sub: z.string().min(1), exp: z.number() });

const MemberClaims = BaseClaims.extend({
  // Any 8-4-4-4-12 hex id: identity providers do not all mint RFC 9562 version/variant bits.
  org_id: z.guid(),
  role: z.enum(ROLES),
  // Optional names for the invitation email: anything else than usable text is left out, never
  // a reason to refuse the token.
  name: z.unknown().optional().transform(toDisplayName),
  org_name: z.unknown().optional().transform(toDisplayName),
});

const InviteeClaims = BaseClaims.extend({
  // ASCII case and whitespace only: a non-ASCII address is compared byte for byte and matches no
  // invitation (see email-address.ts).
  email: z.string().overwrite(normalizeEmail).min(1),
  email_verified: z.boolean().optional(),
});

function unauthorized(description: string): ApiError {
  // RFC 6750 §3: say why in the challenge, keep the body the plain contract envelope.
  return new ApiError("UNAUTHORIZED", {
    headers: { "WWW-Authenticate": `Bearer error="invalid_token", error_description="${description}"` },
  });
}

/** JWT_SECRET imported once per isolate (and configuration), not on every request; none without it. */
const hmacKey = memo((config: Config) =>
  config.jwtSecret === undefined
    ? undefined
    : crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(config.jwtSecret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["verify"],
      ),
);

/** The JWKS at JWT_JWKS_URL, kept per isolate (and configuration); none without a URL. */
const jwksCache = memo((config: Config) =>
  config.jwksUrl === undefined ? undefined : new JwksCache(config.jwksUrl, config.jwksCacheMs),
);

/**
 * The key that may verify this token, chosen by the header and bound to one algorithm: HS256 only
 * with JWT_SECRET; RS256/ES256 only with the JWKS key its `kid` names (or the set's only key),
 * and only with the algorithm that key is for. So `none`, HS256 signed with a public key, a
 * missing `kid` among several keys, and a key used with another algorithm all find no key.
 */
async function keyFor(token: string, config: Config, log: Logger) {
  let header: unknown;
  try {
    header = decode(token).header;
  } catch {
    return undefined;
  }
  // Hono's decode returns whatever JSON the first part holds: `null`, a number, an array...
  if (typeof header !== "object" || header === null) return undefined;
  const { alg, kid } = header as Record<string, unknown>;
  const hmac = alg === "HS256" ? hmacKey(config) : undefined;
  if (hmac) return { alg: "HS256", key: await hmac } as const;
  const jwks = jwksCache(config);
  const isJwksAlg = (JWKS_ALGORITHMS as readonly unknown[]).includes(alg);
  if (jwks && isJwksAlg && (kid === undefined || typeof kid === "string")) {
    const found = await jwks.keyFor({ kid, alg: alg as string }, log);
    return found && ({ alg: found.alg, key: found.key } as const);
  }
  return undefined;
}

const TimeClaims = z.object({
  exp: z.number(),
  nbf: z.number().optional(),
  iat: z.number().optional(),
});

/**
 * `exp` (required), `nbf` and `iat` against the clock, each with `skew` seconds of leeway: an
 * expired token is refused from `exp + skew` on (Hono's own date checks have no leeway, so they
 * are off and these run instead).
 */
function datesValid(payload: unknown, skew: number): boolean {
  const dates = TimeClaims.safeParse(payload);
  if (!dates.success) return false;
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf, iat } = dates.data;
  return (
    now < exp + skew && (nbf === undefined || nbf <= now + skew) && (iat === undefined || iat <= now + skew)
  );
}

/** The signature and `iss`/`aud` of `token` checked: its payload, or a 401. */
async function verifiedPayload(token: string, config: Config, log: Logger): Promise<unknown> {
  const key = await keyFor(token, config, log);
  if (!key) throw unauthorized("Token verification failed");
  let payload: unknown;
  try {
    payload = await verify(token, key.key, {
      alg: key.alg,
      iss: config.jwtIssuer,
      aud: config.jwtAudience,
      exp: false,
      nbf: false,
      iat: false,
    });
  } catch {
    throw unauthorized("Token verification failed");
  }
  if (key.alg === "HS256") rememberVerified(config, token, payload);
  return payload;
}

/** HS256 tokens whose signature and `iss`/`aud` passed, per isolate and configuration. */
const VERIFIED_KEEP_MS = 60_000;
const VERIFIED_MAX = 1_000;
const verifiedTokens = memo((_config: Config) => new Map<string, { payload: unknown; until: number }>());

/**
 * A client sends the same token with every request for as long as it lives: what its signature
 * check found (the payload; measured at about 5% of a list request's CPU) is kept for a minute
 * per isolate, keyed by the whole token, signature included, so only that exact token finds it.
 * HS256 only: JWT_SECRET cannot change without a new configuration (a new cache), whereas a JWKS
 * may drop a key at any time. The time claims and the required claims are checked on every use.
 */
function rememberVerified(config: Config, token: string, payload: unknown): void {
  const tokens = verifiedTokens(config);
  if (tokens.size >= VERIFIED_MAX) tokens.delete(tokens.keys().next().value as string);
  tokens.set(token, { payload, until: Date.now() + VERIFIED_KEEP_MS });
}

function recentlyVerified(config: Config, token: string): unknown {
  const tokens = verifiedTokens(config);
  const found = tokens.get(token);
  if (found === undefined) return undefined;
  if (found.until > Date.now()) return found.payload;
  tokens.delete(token);
  return undefined;
}

/**
 * Verifies `Authorization: Bearer <JWT>`: the key and algorithm chosen as `keyFor` says, the
 * signature, `exp`/`nbf`/`iat` with the configured clock skew, `iss`/`aud` when configured, then
 * the claims `schema` requires. Any failure is 401. A HS256 token verified in the last minute
 * skips the signature check (`recentlyVerified`), never the others.
 */
async function verifiedClaims<T>(
  header: string | undefined,
  env: Env,
  schema: z.ZodType<T, unknown>,
  log: Logger,
): Promise<T> {
  if (!header) {
    throw new ApiError("UNAUTHORIZED", { headers: { "WWW-Authenticate": "Bearer" } });
  }
  const match = /^Bearer +([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(header);
  if (!match?.[1]) throw unauthorized("Malformed bearer token");
  const token = match[1];

  const config = readConfig(env);
  const payload = recentlyVerified(config, token) ?? (await verifiedPayload(token, config, log));
  if (!datesValid(payload, config.clockSkewSeconds)) throw unauthorized("Token is expired or not yet valid");
  const claims = schema.safeParse(payload);
  if (!claims.success) throw unauthorized("Token is missing required claims");
  return claims.data;
}

/** A member of an organization (`sub`, `org_id`, `role`): sets the typed `principal`. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const claims = await verifiedClaims(c.req.header("Authorization"), c.env, MemberClaims, requestLogger(c));
  c.set("principal", {
    userId: claims.sub,
    organizationId: claims.org_id.toLowerCase(),
    role: claims.role,
    name: claims.name,
    organizationName: claims.org_name,
  });
  await next();
});

/**
 * Any signed-in user with an email address (`sub`, `email`; no organization needed): sets the
 * typed `invitee`. `email_verified: false` is refused with 403.
 */
export const authenticateInvitee = createMiddleware<AppEnv>(async (c, next) => {
  const claims = await verifiedClaims(c.req.header("Authorization"), c.env, InviteeClaims, requestLogger(c));
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
