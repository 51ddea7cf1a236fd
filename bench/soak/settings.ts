/**
 * The soak's knobs: how long and how wide it runs (bounded, from the environment) and the shape of
 * its traffic (organizations, members, the addresses that race, the operations' mix).
 */

const bounded = (name: string, fallback: number, max: number) =>
  Math.min(Math.max(Math.floor(Number(process.env[name] ?? fallback)) || fallback, 1), max);
/** SOAK_DURATION: seconds of traffic, default 60, at most 600. */
export const DURATION_SECONDS = bounded("SOAK_DURATION", 60, 600);
/** SOAK_CONNECTIONS: requests in flight, default 16, at most 64. */
export const CONNECTIONS = bounded("SOAK_CONNECTIONS", 16, 64);

/** The soak's own JWT secret, given to wrangler dev as a --var. */
export const SECRET = "soak-secret-not-for-production-0123456789";
/** A request still unanswered after this counts as failed (and the soak keeps going). */
export const REQUEST_TIMEOUT_MS = 30_000;

// Writes are limited to 60 a minute per organization and user: 20 organizations x 8 admins allow
// 160 writes a second, more than one machine's `wrangler dev` serves, so few writes are limited.
export const ORGANIZATIONS = 20;
export const ADMINS_PER_ORG = 8;
export const OPERATORS_PER_ORG = 2;
/** Addresses each organization invites again and again: the duplicates that race. */
export const SHARED_ADDRESSES_PER_ORG = 4;
/** Each organization's newest invitations, which revokes and accepts pick from, so they collide. */
export const HOT_PER_ORG = 5;

export const OPERATIONS = ["create", "list", "get", "revoke", "accept", "resend", "lookup"] as const;
export type Operation = (typeof OPERATIONS)[number];
/**
 * Relative frequency of each operation. Previews are few: they are limited per client IP, and
 * every soak request comes from one.
 */
export const MIX: Record<Operation, number> = {
  create: 26,
  list: 18,
  get: 14,
  revoke: 12,
  accept: 12,
  resend: 8,
  lookup: 4,
};
