import type { z } from "@hono/zod-openapi";

/**
 * An optional request field that reads as `value` when omitted. Not zod's `.default()`: the
 * document would show it as `default`, which openapi-typescript (by default) reads as "always
 * present" and so types the field as required in the request body, for every generated client.
 * The field's description says what omitting it means instead.
 */
export function omittedMeans<T extends z.ZodType>(schema: T, value: z.output<T>) {
  return schema.optional().transform((given): z.output<T> => given ?? value);
}
