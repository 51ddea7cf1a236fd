import { z } from "@hono/zod-openapi";
import { BookmarkRequestHeadersSchema } from "../lib/d1-session";

/** On an answer replayed from an earlier request with the same key. */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/**
 * What the server accepts, said as one pattern for the OpenAPI document: 16 to 255 visible ASCII
 * characters, bare (`abc...`) or as the draft standard's quoted string (`"abc..."`, the same key;
 * the quotes do not count). A value wrapped in quotes is read as quoted, so its inside must be
 * 16 to 255 characters.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^(?:"[\x21-\x7e]{16,255}"|(?!".*"$)[\x21-\x7e]{16,255})$/;

/** The Idempotency-Key header's value, as the key it stands for. */
export const IdempotencyKey = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, "Must be 16 to 255 visible ASCII characters; a random UUID is best")
  .transform((value) => value.replace(/^"(.*)"$/, "$1"));

/** Request headers of an operation that takes an Idempotency-Key. */
export const IdempotentRequestHeadersSchema = BookmarkRequestHeadersSchema.extend({
  "idempotency-key": IdempotencyKey.optional().openapi({
    description:
      "Makes a retry safe: the first answer is stored for 24 hours per organization, user (the token's `sub`) and key, and a retry with the same key and the same request gets that answer again (with `Idempotent-Replayed: true`) instead of a second effect. The same key with a different request is `422 IDEMPOTENCY_KEY_REUSED`; a retry while the first request is still running is `409 IDEMPOTENCY_KEY_IN_USE` with `Retry-After`. Only success answers are stored: after a refusal (4xx) or a failure (5xx) the key is free and a retry runs again. 16 to 255 visible ASCII characters (`pattern`), optionally in double quotes: use a fresh random value (a UUID such as `5f0c9a4e-3b1d-4c6e-9a8f-2d7e1b0c4a63`) per operation, since it also keys the encryption of the stored answer, which holds the invitation link. No example is filled in for you: a fixed key would make a second, different request `422`.",
  }),
});

/** Response headers of an operation that takes an Idempotency-Key. */
export const ReplayedHeaderSchema = z.object({
  [REPLAYED_HEADER]: z.literal("true").optional().openapi({
    description:
      "Present when this is the stored answer to an earlier request with the same Idempotency-Key.",
  }),
});
