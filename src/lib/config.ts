import { z } from "@hono/zod-openapi";
import { decodeBase64 } from "hono/utils/encode";
import { isDisplayName, MAX_DISPLAY_NAME } from "./display-name";
import { memo } from "./memo";
import { isHttpsOrLocal } from "./secure-url";

/** An optional string var: unset and empty both mean "not configured". */
const optionalVar = z
  .string()
  .trim()
  .optional()
  .transform((value) => value || undefined);

/** A number var: unset and empty both take the default (coercing "" would make it 0). */
const numberVar = (schema: z.ZodNumber, fallback: number) =>
  z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
    z.coerce.number().pipe(schema).default(fallback),
  );

/** A comma-separated list of origins (scheme://host[:port]); empty: none. */
const originsVar = optionalVar.pipe(
  z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .url({ protocol: /^https?$/ })
          .refine((origin) => new URL(origin).origin === origin, "must be an origin: scheme://host[:port]"),
      ),
    )
    .optional(),
);

/** A sender address: ASCII, no white space, angle brackets or quotes, a dotted domain. */
const SENDER_PATTERN = /^[^\s@<>"(),;:\\[\]]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;

/**
 * The Worker's configuration, validated once per `env` object. `wrangler.toml` [vars] and secrets
 * arrive as strings, so numbers are parsed here rather than wherever they are used.
 */
const ConfigSchema = z
  .object({
    /** HS256 key for bearer tokens. RFC 7518 §3.2: at least as long as the hash, 32 bytes. */
    JWT_SECRET: optionalVar.pipe(z.string().min(32, "must be at least 32 characters").optional()),
    /** Where the identity provider publishes its public keys (RS256, ES256), e.g. .../.well-known/jwks.json. */
    JWT_JWKS_URL: optionalVar.pipe(z.url({ protocol: /^https$/ }).optional()),
    /**
     * Keys the list's cursors (encrypted and authenticated, so they are opaque and cannot be
     * forged). Unset, the key is derived from JWT_SECRET; one of the two must be set.
     */
    CURSOR_SECRET: optionalVar.pipe(z.string().min(32, "must be at least 32 characters").optional()),
    /** How long a fetched key set is used before it is fetched again. */
    JWT_JWKS_CACHE_SECONDS: numberVar(z.number().int().min(1).max(86_400), 600),
    /** Leeway for `exp`, `nbf` and `iat` against clocks that disagree a little. */
    JWT_CLOCK_SKEW_SECONDS: numberVar(z.number().int().min(0).max(300), 30),
    JWT_ISSUER: optionalVar,
    JWT_AUDIENCE: optionalVar,
    /**
     * Derives each invitation link's secret (HMAC-SHA256 over the invitation and its send number),
     * so links are never stored and the email sender can rebuild the one it sends.
     */
    LINK_SECRET: z.string().min(32, "must be at least 32 characters"),
    /**
     * This Worker's public origin: where its invitation page is, so where links point by default.
     * https (http only on localhost), as for every URL that carries a link's secret.
     */
    PUBLIC_URL: optionalVar.pipe(
      z
        .url({ protocol: /^https?$/ })
        .refine(isHttpsOrLocal, "must be an https origin (http only for localhost)")
        .refine(
          (url) => new URL(url).origin === url.replace(/\/$/, ""),
          "must be an origin: scheme://host[:port]",
        )
        .transform((url) => new URL(url).origin)
        .optional(),
    ),
    /** The sender of invitation emails (an address), and the name shown with it. */
    EMAIL_FROM: optionalVar.pipe(z.email({ pattern: SENDER_PATTERN }).max(254).optional()),
    EMAIL_FROM_NAME: optionalVar.pipe(
      z
        .string()
        .max(MAX_DISPLAY_NAME)
        .refine(isDisplayName, "must be one line of visible text (no control characters)")
        .optional(),
    ),
    /** The first retry's delay after a refused send; each later one doubles, up to an hour. */
    EMAIL_RETRY_DELAY_SECONDS: numberVar(z.number().int().min(0).max(3600), 60),
    /** Bounded so that every `expiresAt` stays a valid date (and a year is long enough to wait). */
    INVITATION_TTL_SECONDS: numberVar(z.number().int().min(1).max(31_536_000), 604_800),
    /**
     * The page invitees open: `inviteUrl` is this with `?token=...` added; https (http only on
     * localhost). Unset, links open this Worker's own invitation page (PUBLIC_URL + /invite).
     */
    INVITE_URL_BASE: optionalVar.pipe(
      z.url().refine(isHttpsOrLocal, "must be an https URL (http only for localhost)").optional(),
    ),
    /**
     * Where the invitation page's Continue button goes, with `?token=...` added: the app's page
     * that signs the invitee in and accepts. https (http only on localhost): the URL carries the
     * link's secret. Unset, the page shows the invitation without a button (docs/invitation-page.md).
     */
    ACCEPT_URL: optionalVar.pipe(
      z.url().refine(isHttpsOrLocal, "must be an https URL (http only for localhost)").optional(),
    ),
    /** Least time between two sends of one invitation's link; 0 switches the cooldown off. */
    RESEND_COOLDOWN_SECONDS: numberVar(z.number().int().min(0).max(86_400), 60),
    /**
     * Browser origins allowed to call the API (CORS), comma-separated, e.g.
     * "https://admin.example.com,https://app.example.com". Empty: no cross-origin access.
     */
    CORS_ORIGINS: originsVar,
    /**
     * Where an invitation's `redirectUrl` may point, comma-separated origins: https, or http for
     * localhost only. Empty: no invitation may have one.
     */
    REDIRECT_ORIGINS: originsVar.refine(
      (origins) => (origins ?? []).every(isHttpsOrLocal),
      "each origin must be https (http only for localhost)",
    ),
    /** Most PENDING invitations an organization may have at once. */
    MAX_PENDING_INVITATIONS: numberVar(z.number().int().min(1).max(1_000_000), 1000),
  })
  .refine((vars) => vars.JWT_SECRET || vars.JWT_JWKS_URL, {
    message: "set JWT_SECRET (HS256), JWT_JWKS_URL (RS256/ES256), or both",
    path: ["JWT_SECRET"],
  })
  .refine((vars) => vars.CURSOR_SECRET || vars.JWT_SECRET, {
    message: "set CURSOR_SECRET (it keys the list's cursors) when JWT_SECRET is not set",
    path: ["CURSOR_SECRET"],
  });

export type Config = {
  jwtSecret: string | undefined;
  jwksUrl: string | undefined;
  jwksCacheMs: number;
  clockSkewSeconds: number;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  invitationTtlMs: number;
  linkSecret: string;
  publicUrl: string | undefined;
  inviteUrlBase: string | undefined;
  /** The app's sign-in-and-accept page the invitation page continues to (ACCEPT_URL). */
  acceptUrl: string | undefined;
  /** The sender, as the send_email binding takes it; undefined when EMAIL_FROM is not set. */
  emailFrom: { email: string; name: string } | string | undefined;
  emailRetryDelaySeconds: number;
  resendCooldownMs: number;
  corsOrigins: string[];
  redirectOrigins: string[];
  maxPendingInvitations: number;
  /** What the list's cursor key is derived from: CURSOR_SECRET, else JWT_SECRET. */
  cursorSecret: string;
};

/**
 * Reads and validates configuration from the Worker's `env`, once per `env` object (an isolate
 * reuses it across requests). Throws on a misconfiguration, which surfaces as a logged 500.
 */
export const readConfig = memo((env: Env): Config => {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid configuration: ${z.prettifyError(parsed.error)}`);
  }
  return {
    jwtSecret: parsed.data.JWT_SECRET,
    jwksUrl: parsed.data.JWT_JWKS_URL,
    jwksCacheMs: parsed.data.JWT_JWKS_CACHE_SECONDS * 1000,
    clockSkewSeconds: parsed.data.JWT_CLOCK_SKEW_SECONDS,
    jwtIssuer: parsed.data.JWT_ISSUER,
    jwtAudience: parsed.data.JWT_AUDIENCE,
    invitationTtlMs: parsed.data.INVITATION_TTL_SECONDS * 1000,
    linkSecret: parsed.data.LINK_SECRET,
    publicUrl: parsed.data.PUBLIC_URL,
    inviteUrlBase: parsed.data.INVITE_URL_BASE,
    acceptUrl: parsed.data.ACCEPT_URL,
    emailFrom: senderOf(parsed.data.EMAIL_FROM, parsed.data.EMAIL_FROM_NAME),
    emailRetryDelaySeconds: parsed.data.EMAIL_RETRY_DELAY_SECONDS,
    resendCooldownMs: parsed.data.RESEND_COOLDOWN_SECONDS * 1000,
    corsOrigins: parsed.data.CORS_ORIGINS ?? [],
    redirectOrigins: parsed.data.REDIRECT_ORIGINS ?? [],
    maxPendingInvitations: parsed.data.MAX_PENDING_INVITATIONS,
    // The refinement above makes one of the two present.
    cursorSecret: parsed.data.CURSOR_SECRET ?? parsed.data.JWT_SECRET ?? "",
  };
});

function senderOf(email: string | undefined, name: string | undefined) {
  if (email === undefined) return undefined;
  return name === undefined ? email : { email, name };
}

/** The length in bytes of a `whsec_` secret's key, or 0 when it is not valid base64. */
function webhookKeyLength(secret: string): number {
  try {
    return decodeBase64(secret.slice("whsec_".length)).length;
  } catch {
    return 0;
  }
}

/**
 * The queue consumer's settings, apart from the rest: the API never reads them, so a mistake
 * here stops webhook deliveries (logged, and retried) but never an API request.
 */
const WebhookConfigSchema = z.object({
  /** Where the queue consumer delivers lifecycle events; unset, they are delivered nowhere. */
  WEBHOOK_URL: optionalVar.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** The signing key in the Standard Webhooks form: `whsec_` and base64, as its libraries take it. */
  WEBHOOK_SECRET: optionalVar.pipe(
    z
      .string()
      .refine(
        (secret) => secret.startsWith("whsec_") && webhookKeyLength(secret) >= 24,
        "must be whsec_ followed by at least 24 bytes in base64",
      )
      .optional(),
  ),
  /** The first retry's delay after a failed delivery; each later one doubles, up to an hour. */
  WEBHOOK_RETRY_DELAY_SECONDS: numberVar(z.number().int().min(0).max(3600), 30),
});

export type WebhookConfig = {
  url: string | undefined;
  /** `whsec_` and the base64 key. */
  secret: string | undefined;
  retryDelaySeconds: number;
};

/** Reads and validates the webhook settings, once per `env` object; throws on a misconfiguration. */
export const readWebhookConfig = memo((env: Env): WebhookConfig => {
  const parsed = WebhookConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid webhook configuration: ${z.prettifyError(parsed.error)}`);
  }
  const { WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_RETRY_DELAY_SECONDS } = parsed.data;
  return { url: WEBHOOK_URL, secret: WEBHOOK_SECRET, retryDelaySeconds: WEBHOOK_RETRY_DELAY_SECONDS };
});
