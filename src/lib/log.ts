import { DrizzleQueryError } from "drizzle-orm/errors";
import type { Context } from "hono";
import type { AppEnv } from "./app-env";

export type LogLevel = "info" | "warn" | "error";
/**
 * What a line may carry: ids, counts, codes, paths. Never a token, a link, an email address or a
 * query's bound values (Workers Logs keeps whatever is written here).
 */
export type LogFields = Record<string, string | number | boolean | null | undefined | object>;
export type Logger = (level: LogLevel, message: string, fields?: LogFields) => void;

/** One JSON object per line, which Workers Logs indexes field by field. */
export const log: Logger = (level, message, fields = {}) => {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
};

/** A logger whose every line carries `fields` (the request id, for a request's lines). */
export function withFields(fields: LogFields): Logger {
  return (level, message, more = {}) => log(level, message, { ...fields, ...more });
}

/** A logger whose lines carry this request's id. */
export function requestLogger(c: Context<AppEnv>): Logger {
  return withFields({ requestId: c.get("requestId") });
}

/**
 * An error as it may be logged. Drizzle's query errors put the statement's bound values (emails,
 * token digests) in their message and stack, so those keep only the SQL and the database's own
 * message; stacks keep only their frames.
 */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { name: typeof error };
  const frames = error.stack
    ?.split("\n")
    .filter((line) => line.trimStart().startsWith("at "))
    .map((line) => line.trim());
  if (error instanceof DrizzleQueryError) {
    return { name: error.name, query: error.query, cause: describeError(error.cause), frames };
  }
  return {
    name: error.name,
    message: error.message,
    ...(error.cause !== undefined && { cause: describeError(error.cause) }),
    frames,
  };
}
