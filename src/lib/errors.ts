import { z } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./app-env";
import { describeError, log } from "./log";

/**
 * Every error the API can answer with: its HTTP status, reason phrase and default message. A bulk
 * create's item errors use the same codes and messages (the status belongs to a response).
 */
export const ERRORS = {
  VALIDATION_ERROR: { status: 400, error: "Bad Request", message: "Validation error" },
  BAD_REQUEST: {
    status: 400,
    error: "Bad Request",
    message: "Invalid UUID or invitation cannot be revoked in its current state",
  },
  UNAUTHORIZED: { status: 401, error: "Unauthorized", message: "Unauthorized" },
  FORBIDDEN: { status: 403, error: "Forbidden", message: "Forbidden" },
  EMAIL_NOT_VERIFIED: {
    status: 403,
    error: "Forbidden",
    message: "Your email address is not verified",
  },
  INVITATION_EMAIL_MISMATCH: {
    status: 403,
    error: "Forbidden",
    message: "This invitation was sent to a different email address",
  },
  INVITATION_NOT_FOUND: { status: 404, error: "Not Found", message: "Invitation not found" },
  NOT_FOUND: { status: 404, error: "Not Found", message: "Route not found" },
  CONFLICT: {
    status: 409,
    error: "Conflict",
    message: "A pending invitation already exists for this email",
  },
  INVITATION_ALREADY_ACCEPTED: {
    status: 409,
    error: "Conflict",
    message: "This invitation has already been accepted",
  },
  INVITATION_NOT_RESENDABLE: {
    status: 409,
    error: "Conflict",
    message: "Only a pending or expired invitation can be resent",
  },
  INVITATION_NOT_UPDATABLE: {
    status: 409,
    error: "Conflict",
    message: "Only a pending or expired invitation's public metadata and redirect URL can change",
  },
  /** Only as a bulk create item's error: the answer is a 200 with one result per item. */
  DUPLICATE_IN_REQUEST: {
    status: 409,
    error: "Conflict",
    message: "The same email address is an earlier item of this request",
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    error: "Conflict",
    message: "A request with this Idempotency-Key is still in progress; retry shortly",
  },
  INVITATION_EXPIRED: { status: 410, error: "Gone", message: "This invitation has expired" },
  INVITATION_REVOKED: { status: 410, error: "Gone", message: "This invitation has been revoked" },
  INVITATION_DECLINED: { status: 410, error: "Gone", message: "This invitation has been declined" },
  PAYLOAD_TOO_LARGE: { status: 413, error: "Payload Too Large", message: "Payload too large" },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    error: "Unprocessable Content",
    message: "This Idempotency-Key was already used for a different request",
  },
  RATE_LIMITED: { status: 429, error: "Too Many Requests", message: "Too many requests" },
  INTERNAL_SERVER_ERROR: {
    status: 500,
    error: "Internal Server Error",
    message: "Internal server error",
  },
} as const satisfies Record<string, { status: ContentfulStatusCode; error: string; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Field path (dotted, or the part of the request when the whole part is wrong) to its messages. */
export type ErrorDetails = Record<string, string[]>;

/** An error the API means to return: rendered by `onError` into the envelope with its status. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    options: { message?: string; details?: ErrorDetails; headers?: Record<string, string> } = {},
  ) {
    super(options.message ?? ERRORS[code].message);
    this.name = "ApiError";
    this.code = code;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }

  get status(): ContentfulStatusCode {
    return ERRORS[this.code].status;
  }
}

/** The error envelope, as every error response carries it. */
export const ErrorSchema = z
  .object({
    code: z.string().openapi({ description: "Machine-readable error code.", example: "VALIDATION_ERROR" }),
    details: z.record(z.string(), z.array(z.string())).openapi({
      description:
        "For VALIDATION_ERROR: each failing field (a dotted path, or `body` / `query` when the whole part is wrong) with its messages. Empty otherwise.",
      example: { email: ["Invalid email address"] },
    }),
    error: z.string().openapi({ description: "The HTTP reason phrase.", example: "Bad Request" }),
    message: z.string().openapi({ description: "Human-readable summary.", example: "Validation error" }),
    statusCode: z.number().int().openapi({ description: "Equals the HTTP status.", example: 400 }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorSchema>;

function envelope(code: ErrorCode, message: string, details: ErrorDetails): ErrorBody {
  const { status, error } = ERRORS[code];
  return { code, details, error, message, statusCode: status };
}

function errorResponse(code: ErrorCode, description: string, headers?: z.ZodObject) {
  const { status, error, message } = ERRORS[code];
  return {
    status,
    description,
    ...(headers && { headers }),
    content: {
      "application/json": {
        schema: ErrorSchema,
        example: { code, details: {}, error, message, statusCode: status },
      },
    },
  };
}

/** A code an operation can answer with, the description of when, and the headers it sends. */
export type ErrorEntry = [ErrorCode, string, z.ZodObject?];

/**
 * OpenAPI error responses, keyed by status, to spread into a route's `responses`: each code with
 * its description and, optionally, the headers it sends. Where two codes share a status the first
 * is the example and the description names both.
 */
export function errorResponses<C extends ErrorCode>(...entries: [C, string, z.ZodObject?][]) {
  const responses: Record<number, ReturnType<typeof errorResponse>> = {};
  for (const [code, description, headers] of entries) {
    const status = ERRORS[code].status;
    const existing = responses[status];
    responses[status] = existing
      ? { ...existing, description: `${existing.description} Or: ${description}` }
      : errorResponse(code, description, headers);
  }
  return responses;
}

/** The 429 of the rate limiters (see rate-limit.ts), counted per `subject`. */
export function rateLimitedError(subject: string): ErrorEntry {
  return [
    "RATE_LIMITED",
    `RATE_LIMITED: too many requests from ${subject} in the last minute (reads and writes are limited separately); \`Retry-After\` says how many seconds to wait.`,
    z.object({
      "Retry-After": z
        .string()
        .openapi({ description: "Seconds to wait before trying again.", example: "60" }),
    }),
  ];
}

/** Any operation's 500. */
export const internalServerError: ErrorEntry = [
  "INTERNAL_SERVER_ERROR",
  "INTERNAL_SERVER_ERROR: unexpected failure; nothing internal is disclosed.",
];

/** Responses every authenticated operation of an organization's member can give. */
export const commonErrors: ErrorEntry[] = [
  ["UNAUTHORIZED", "UNAUTHORIZED: missing, malformed, expired or otherwise invalid bearer token."],
  rateLimitedError("this user in this organization"),
  ["FORBIDDEN", "FORBIDDEN: the token's role may not perform this operation."],
  internalServerError,
];

/** Responses an operation that takes an Idempotency-Key adds (see src/idempotency/). */
export const idempotencyErrors: ErrorEntry[] = [
  [
    "IDEMPOTENCY_KEY_IN_USE",
    "IDEMPOTENCY_KEY_IN_USE: the first request with this Idempotency-Key is still running; retry after `Retry-After` seconds to get its answer.",
    z.object({
      "Retry-After": z.string().openapi({ description: "Seconds to wait before retrying.", example: "1" }),
    }),
  ],
  [
    "IDEMPOTENCY_KEY_REUSED",
    "IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used in the last 24 hours with a different request (another operation, invitation or body).",
  ],
];

/** Turns zod issues into `details`: each field path with its messages. */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[], part: string): ErrorDetails {
  const details: ErrorDetails = {};
  for (const issue of issues) {
    const key = issue.path.length > 0 ? issue.path.map(String).join(".") : part;
    const messages = details[key] ?? [];
    messages.push(issue.message);
    details[key] = messages;
  }
  return details;
}

/** The validation hook every router shares: a failed zod parse becomes VALIDATION_ERROR. */
export function defaultHook(
  result: { success: true } | { success: false; error: z.ZodError; target: string },
): void {
  if (!result.success) {
    throw new ApiError("VALIDATION_ERROR", {
      details: issuesToDetails(result.error.issues, result.target === "json" ? "body" : result.target),
    });
  }
}

/** The envelope response for `err`, with its headers. */
function renderError(c: Context<AppEnv>, err: ApiError) {
  for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
  return c.json(envelope(err.code, err.message, err.details), err.status);
}

/** Framework exceptions (body limit, media type, malformed JSON) mapped onto our codes. */
function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      return new ApiError("VALIDATION_ERROR", { details: { body: [err.message] } });
    case 401:
      return new ApiError("UNAUTHORIZED");
    case 413:
      return new ApiError("PAYLOAD_TOO_LARGE");
    case 415:
      // The contract has no 415: a body that is not JSON fails validation like any other.
      return new ApiError("VALIDATION_ERROR", {
        details: { body: ["Content-Type must be application/json"] },
      });
    default:
      return new ApiError("INTERNAL_SERVER_ERROR");
  }
}

/** Logs a bug (an error nothing answered) with the request id. */
export function logUnhandled(c: Context<AppEnv>, err: unknown): void {
  // The path, never the query string: a preview's and the invitation page's URLs carry a link's secret.
  log("error", "Unhandled error", {
    requestId: c.get("requestId"),
    method: c.req.method,
    path: c.req.path,
    error: describeError(err),
  });
}

/**
 * The one error renderer. Anything that is not an `ApiError` or a known framework exception is a
 * bug: it is logged with the request id and answered with a bare 500.
 */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) return renderError(c, err);
  if (err instanceof HTTPException && err.status < 500) return renderError(c, fromHttpException(err));
  logUnhandled(c, err);
  return renderError(c, new ApiError("INTERNAL_SERVER_ERROR"));
};

/** Routing misses (unknown path, or a method the path does not have). */
export const notFound: NotFoundHandler<AppEnv> = (c) => renderError(c, new ApiError("NOT_FOUND"));
