import { z } from "@hono/zod-openapi";
import { and, eq, isNull, lte, or, sql } from "drizzle-orm";
import type { Context } from "hono";
import { decodeBase64Url } from "hono/utils/encode";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Db } from "../db/client";
import { type BatchLimits, deleteInBatches } from "../db/delete-in-batches";
import { idempotencyKeys } from "../db/schema";
import type { AppEnv } from "./app-env";
import { BookmarkRequestHeadersSchema } from "./d1-session";
import { base64Url, sha256 } from "./digest";
import { ApiError, renderError } from "./errors";
import { describeError, requestLogger } from "./log";

/** How long a key holds its first answer. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/**
 * How long the first request holds its key. A retry within it is told to wait (409); after it,
 * a retry of the same request takes the key over, since the first request cannot still be
 * running (a Worker's request does not outlive it) but may have died before answering.
 */
export const IDEMPOTENCY_LOCK_MS = 60_000;

/** On an answer replayed from an earlier request with the same key. */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/** Headers of the first answer that a replay repeats; the rest are set afresh (request id, bookmark). */
const REPLAYED_HEADERS = ["content-type", "location", "cache-control"];

const IdempotencyKey = z
  .string()
  // Accepted bare (`abc`) or as the draft standard's quoted string (`"abc"`): the same key.
  .transform((value) => value.replace(/^"(.*)"$/, "$1"))
  .pipe(
    z
      .string()
      .regex(/^[\x21-\x7e]{16,255}$/, "Must be 16 to 255 visible ASCII characters; a random UUID is best"),
  );

/** Request headers of an operation that takes an Idempotency-Key. */
export const IdempotentRequestHeadersSchema = BookmarkRequestHeadersSchema.extend({
  "idempotency-key": IdempotencyKey.optional().openapi({
    description:
      "Makes a retry safe: the first answer is stored for 24 hours per organization, user (the token's `sub`) and key, and a retry with the same key and the same request gets that answer again (with `Idempotent-Replayed: true`) instead of a second effect. The same key with a different request is `422 IDEMPOTENCY_KEY_REUSED`; a retry while the first request is still running is `409 IDEMPOTENCY_KEY_IN_USE` with `Retry-After`. Only success answers are stored: after a refusal (4xx) or a failure (5xx) the key is free and a retry runs again. 16 to 255 visible ASCII characters: use a fresh random value (a UUID) per operation, since it also keys the encryption of the stored answer, which holds the invitation link.",
    example: "5f0c9a4e-3b1d-4c6e-9a8f-2d7e1b0c4a63",
  }),
});

/** Response headers of an operation that takes an Idempotency-Key. */
export const ReplayedHeaderSchema = z.object({
  [REPLAYED_HEADER]: z.literal("true").optional().openapi({
    description:
      "Present when this is the stored answer to an earlier request with the same Idempotency-Key.",
  }),
});

const encoder = new TextEncoder();

/**
 * AES-GCM key for the stored answer: derived from the Idempotency-Key, which only its client
 * knows, and bound to the caller (`scope`: organization and user).
 */
async function answerKey(idempotencyKey: string, scope: string): Promise<CryptoKey> {
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

type StoredAnswer = { status: number; headers: Record<string, string>; body: string };

async function seal(key: CryptoKey, fingerprint: string, answer: StoredAnswer): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(fingerprint) },
    key,
    encoder.encode(JSON.stringify(answer)),
  );
  return `${base64Url(iv.buffer)}.${base64Url(sealed)}`;
}

async function open(key: CryptoKey, fingerprint: string, stored: string): Promise<StoredAnswer> {
  const [iv = "", sealed = ""] = stored.split(".");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: decodeBase64Url(iv), additionalData: encoder.encode(fingerprint) },
    key,
    decodeBase64Url(sealed),
  );
  return JSON.parse(new TextDecoder().decode(plain));
}

/**
 * Only a success is stored: a refused request changes nothing, its key included, so its retry
 * is judged again (and answered the same while nothing else has changed).
 */
const isStored = (status: number) => status >= 200 && status < 300;

type Slot = { db: Db; organizationId: string; keyHash: string; fingerprint: string };

/**
 * Takes the key for this request, in one atomic batch: a new key, an expired one, or one whose
 * earlier run of the same request died holding it. The probe in the same batch returns the row
 * as it stands, so a request that did not get the key learns why without another round trip.
 */
async function claim({ db, organizationId, keyHash, fingerprint }: Slot, now: number) {
  const row = and(eq(idempotencyKeys.organizationId, organizationId), eq(idempotencyKeys.keyHash, keyHash));
  const [claimed, [current]] = await db.batch([
    db
      .insert(idempotencyKeys)
      .values({
        organizationId,
        keyHash,
        fingerprint,
        createdAt: now,
        expiresAt: now + IDEMPOTENCY_TTL_MS,
        lockedUntil: now + IDEMPOTENCY_LOCK_MS,
      })
      .onConflictDoUpdate({
        target: [idempotencyKeys.organizationId, idempotencyKeys.keyHash],
        set: {
          fingerprint: sql`excluded.fingerprint`,
          createdAt: sql`excluded.created_at`,
          expiresAt: sql`excluded.expires_at`,
          lockedUntil: sql`excluded.locked_until`,
          response: null,
        },
        setWhere: or(
          lte(idempotencyKeys.expiresAt, now),
          and(
            isNull(idempotencyKeys.response),
            lte(idempotencyKeys.lockedUntil, now),
            eq(idempotencyKeys.fingerprint, fingerprint),
          ),
        ),
      })
      .returning({ keyHash: idempotencyKeys.keyHash }),
    db.select().from(idempotencyKeys).where(row),
  ]);
  return { owned: claimed.length > 0, current };
}

/** This request's row, while it still holds the key unanswered. */
function held({ organizationId, keyHash, fingerprint }: Slot) {
  return and(
    eq(idempotencyKeys.organizationId, organizationId),
    eq(idempotencyKeys.keyHash, keyHash),
    eq(idempotencyKeys.fingerprint, fingerprint),
    isNull(idempotencyKeys.response),
  );
}

/**
 * Runs `run` at most once per organization, user and Idempotency-Key (when the request has one):
 * the first answer is stored and a retry of the same request is answered with it; `request` is
 * what makes two requests the same (the validated path parameters and body), with the route.
 * Called by handlers after validation, so a malformed request never takes a key. Only a 2xx
 * answer is kept: a refusal (an ApiError from `run`) or an unexpected error frees the key, so
 * the retry runs again.
 */
export async function idempotent<R extends Response>(
  c: Context<AppEnv>,
  request: unknown,
  run: () => Promise<R>,
): Promise<R> {
  const header = c.req.header("idempotency-key");
  if (header === undefined) return run();
  const key = IdempotencyKey.parse(header);
  // Keys are the caller's own: per organization and user, so a colleague who sends the same key
  // (by accident or not) never gets this caller's answer, and its link.
  const { organizationId, userId } = c.get("principal");
  const scope = `${organizationId}\n${userId}`;
  const slot: Slot = {
    db: c.get("db"),
    organizationId,
    keyHash: await sha256(`${userId}\n${key}`),
    fingerprint: await sha256(JSON.stringify([c.req.method, c.req.routePath, request])),
  };
  const cipher = await answerKey(key, scope);

  const { owned, current } = await claim(slot, Date.now());
  if (!owned) {
    if (!current || current.fingerprint !== slot.fingerprint) throw new ApiError("IDEMPOTENCY_KEY_REUSED");
    if (current.response === null) {
      const wait = Math.max(1, Math.ceil(((current.lockedUntil ?? 0) - Date.now()) / 1000));
      throw new ApiError("IDEMPOTENCY_KEY_IN_USE", { headers: { "Retry-After": String(Math.min(wait, 5)) } });
    }
    const answer = await open(cipher, slot.fingerprint, current.response);
    // What `run` answered the first time. Through the context, so the headers set for this
    // request (its id, the security headers) are on it too.
    return c.body(answer.body, answer.status as ContentfulStatusCode, {
      ...answer.headers,
      [REPLAYED_HEADER]: "true",
    }) as unknown as R;
  }

  let res: R;
  try {
    res = await run();
  } catch (error) {
    if (!(error instanceof ApiError)) {
      // The error the request failed with is the one to report; a key left held lapses anyway.
      await slot.db
        .delete(idempotencyKeys)
        .where(held(slot))
        .catch(() => {});
      throw error;
    }
    res = renderError(c, error) as unknown as R;
  }
  try {
    if (isStored(res.status)) {
      const headers: Record<string, string> = {};
      for (const name of REPLAYED_HEADERS) {
        const value = res.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      const answer = { status: res.status, headers, body: await res.clone().text() };
      await slot.db
        .update(idempotencyKeys)
        .set({ response: await seal(cipher, slot.fingerprint, answer), lockedUntil: null })
        .where(held(slot));
    } else {
      await slot.db.delete(idempotencyKeys).where(held(slot));
    }
  } catch (error) {
    // The change is made and this is its answer; a retry after the lock lapses runs it again.
    requestLogger(c)("error", "Storing an idempotent answer failed", { error: describeError(error) });
  }
  return res;
}

/** Deletes expired keys, at most `batchSize` per statement and `maxBatches` statements per run. */
export function pruneIdempotencyKeys(db: Db, now: number, limits: BatchLimits = { maxBatches: 3 }) {
  return deleteInBatches(db, idempotencyKeys, lte(idempotencyKeys.expiresAt, now), limits);
}
