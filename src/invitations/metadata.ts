import { z } from "@hono/zod-openapi";

/*
 * An invitation's metadata: what an organization attaches to it, for the invitee to see (public)
 * or for itself (private), carried by the events so a membership service can act on it. Bounded
 * so that a row, an event and a page stay small: a JSON object of at most 20 keys, each value a
 * scalar or a shallow array or object of scalars, at most 4 KiB as JSON.
 */

export const MAX_METADATA_KEYS = 20;
export const MAX_METADATA_BYTES = 4096;

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Shallow = z.union([Scalar, z.array(Scalar), z.record(z.string(), Scalar)]);

const byteLength = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

/** `publicMetadata` or `privateMetadata` as a client sends it; `null` clears it (on PATCH). */
export function metadataSchema(description: string) {
  return z
    .record(z.string().min(1).max(64), Shallow, {
      error:
        "Expected an object whose values are strings, numbers, booleans, null, or arrays or objects of those",
    })
    .refine((value) => Object.keys(value).length <= MAX_METADATA_KEYS, {
      message: `At most ${MAX_METADATA_KEYS} keys`,
    })
    .refine((value) => byteLength(value) <= MAX_METADATA_BYTES, {
      message: `At most ${MAX_METADATA_BYTES} bytes as JSON`,
    })
    .openapi({
      description: `${description} A JSON object of at most ${MAX_METADATA_KEYS} keys (1 to 64 characters), each value a string, number, boolean or null, or an array or object of those (one level deep), at most ${MAX_METADATA_BYTES} bytes as JSON (UTF-8).`,
      example: { team: "research", seats: 3 },
    });
}

/** Stored metadata as the API shows it: an object, empty when none was given. */
export const shownMetadata = (stored: Record<string, unknown> | null) => stored ?? {};
