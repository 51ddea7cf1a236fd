import { encodeBase64Url } from "hono/utils/encode";

/** Bytes as base64url without padding: what tokens, digests and sealed answers are written in. */
export const base64Url = (bytes: ArrayBufferLike) => encodeBase64Url(bytes).replace(/=+$/, "");

/** The SHA-256 of `text` (UTF-8), in base64url. */
export async function sha256(text: string): Promise<string> {
  return base64Url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
