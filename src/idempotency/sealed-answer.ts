import { decodeBase64Url } from "hono/utils/encode";
import { base64Url } from "../lib/digest";

/*
 * A stored answer holds the invitation link, so it is kept encrypted: AES-GCM under a key derived
 * (HKDF) from the Idempotency-Key, which only its client knows, and bound to the request's
 * fingerprint, so a row moved to another request does not open.
 */

const encoder = new TextEncoder();

/** What a replay repeats of the first answer. */
export type StoredAnswer = { status: number; headers: Record<string, string>; body: string };

/**
 * AES-GCM key for the stored answer: derived from the Idempotency-Key, which only its client
 * knows, and bound to the caller (`scope`: organization and user).
 */
export async function answerKey(idempotencyKey: string, scope: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(idempotencyKey), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: encoder.encode(scope),
      info: encoder.encode("invitations-api idempotent answer"),
    },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** The answer encrypted for storage: `iv.ciphertext`, both base64url, the fingerprint authenticated. */
export async function seal(key: CryptoKey, fingerprint: string, answer: StoredAnswer): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(fingerprint) },
    key,
    encoder.encode(JSON.stringify(answer)),
  );
  return `${base64Url(iv.buffer)}.${base64Url(sealed)}`;
}

/** The stored answer decrypted; throws when the key or the fingerprint is not the one it was sealed with. */
export async function open(key: CryptoKey, fingerprint: string, stored: string): Promise<StoredAnswer> {
  const [iv = "", sealed = ""] = stored.split(".");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: decodeBase64Url(iv), additionalData: encoder.encode(fingerprint) },
    key,
    decodeBase64Url(sealed),
  );
  return JSON.parse(new TextDecoder().decode(plain));
}
