import type { Config } from "../lib/config";
import { base64Url, sha256 } from "../lib/digest";
import { memo } from "../lib/memo";

/**
 * The secret in an invitation link: 256 bits, base64url without padding (43 characters). It is
 * never stored: it is derived, `HMAC-SHA256(LINK_SECRET, "invitation-link:" + id + ":" + send)`,
 * where `send` is the invitation's send number (its `resend_count`: 0 at create, then 1, 2, ...
 * per resend). So the database holds only the token's SHA-256 digest, as before, and a leaked
 * database without the secret opens no link, while the email sender, given the invitation and its
 * send number, can rebuild exactly the link that create or resend returned. A resend is a new
 * send number, so a new link, and the old one stops working (its digest is replaced).
 */
export const INVITATION_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The path of this Worker's own invitation page: where links point without INVITE_URL_BASE. */
export const INVITE_PAGE_PATH = "/invite";

/** LINK_SECRET imported once per isolate (and configuration). */
const linkKey = memo((config: Config) =>
  crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(config.linkSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  ),
);

/** The link secret of an invitation's `send`-th send (see INVITATION_TOKEN_PATTERN). */
export async function invitationToken(config: Config, invitationId: string, send: number): Promise<string> {
  const message = new TextEncoder().encode(`invitation-link:${invitationId}:${send}`);
  return base64Url(await crypto.subtle.sign("HMAC", await linkKey(config), message));
}

/** The stored form of a token. A plain digest is enough: the token has 256 bits of entropy. */
export async function hashInvitationToken(token: string): Promise<string> {
  return sha256(token);
}

/** An invitation's link for its `send`-th send: the token and the digest the database keeps. */
export async function invitationLink(config: Config, invitationId: string, send: number) {
  const token = await invitationToken(config, invitationId, send);
  return { token, tokenHash: await hashInvitationToken(token) };
}

/**
 * The page links open, as configured: INVITE_URL_BASE when set, else this Worker's own page at
 * PUBLIC_URL. Undefined with neither: the API then uses the request's origin (`linkBaseFor`);
 * the email sender, which has no request, cannot build a link.
 */
export function configuredLinkBase(config: Config): string | undefined {
  if (config.inviteUrlBase) return config.inviteUrlBase;
  return config.publicUrl === undefined ? undefined : new URL(INVITE_PAGE_PATH, config.publicUrl).href;
}

/** The page links open when answering a request to `requestUrl`. */
export function linkBaseFor(config: Config, requestUrl: string): string {
  return configuredLinkBase(config) ?? new URL(INVITE_PAGE_PATH, requestUrl).href;
}

/** The link to send the invitee: the configured page with `token` added to its query. */
export function inviteUrl(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set("token", token);
  return url.href;
}
