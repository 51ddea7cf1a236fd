import { base64Url, sha256 } from "../lib/digest";

/**
 * The secret in an invitation link: 256 bits from the platform's CSPRNG, base64url without
 * padding (43 characters). Only its SHA-256 digest is stored, so a leaked database holds no
 * usable link; the token itself is returned once, on create and on resend.
 */
export const INVITATION_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newInvitationToken(): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(32)).buffer);
}

/** The stored form of a token. A plain digest is enough: the token has 256 bits of entropy. */
export async function hashInvitationToken(token: string): Promise<string> {
  return sha256(token);
}

/** The link to send the invitee: the configured page with `token` added to its query. */
export function inviteUrl(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set("token", token);
  return url.href;
}
