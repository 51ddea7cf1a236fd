import { z } from "@hono/zod-openapi";
import type { Config } from "../lib/config";
import { ApiError, type ErrorDetails } from "../lib/errors";
import { isHttpsOrLocal } from "../lib/secure-url";

/*
 * An invitation's redirect URL: where the hosted page's button sends the invitee (with the link's
 * token added). Only to an origin the operator allows (REDIRECT_ORIGINS), so nobody can turn the
 * service's emails and page into an open redirect. The emailed link stays `inviteUrl`.
 */

export const REDIRECT_URL_DESCRIPTION =
  "Where the hosted invitation page's button sends the invitee (with the link's `token` added as a query parameter): an absolute `https` URL (`http` only for localhost) without credentials, whose origin is one of the configured `REDIRECT_ORIGINS` (none when that is empty), at most 2048 characters. Anything else is `400 VALIDATION_ERROR`. The emailed link stays `inviteUrl`.";

/**
 * The field as a body takes it; the allowed origins are checked against configuration afterwards.
 * No `example`: "Try it out" would send it, and a made-up origin is refused by every deployment.
 */
export const RedirectUrlSchema = z
  .url({ protocol: /^https?$/, error: "Must be an absolute http(s) URL" })
  .max(2048)
  .openapi({ description: REDIRECT_URL_DESCRIPTION });

/** Why `value` may not be an invitation's redirect URL under `config`, or undefined when it may. */
export function redirectUrlProblem(
  config: Pick<Config, "redirectOrigins">,
  value: string,
): string | undefined {
  if (!isHttpsOrLocal(value)) return "Must be https (http only for localhost)";
  const url = new URL(value);
  if (url.username || url.password) return "Must not carry a user name or password";
  if (config.redirectOrigins.length === 0) return "No redirect origin is allowed on this service";
  if (!config.redirectOrigins.includes(url.origin)) return "This origin is not an allowed redirect origin";
  return undefined;
}

/** The details of a refused redirect URL, or undefined when it is allowed (or absent). */
export function redirectUrlDetails(
  config: Pick<Config, "redirectOrigins">,
  value: string | null | undefined,
): ErrorDetails | undefined {
  const problem = value ? redirectUrlProblem(config, value) : undefined;
  return problem ? { redirectUrl: [problem] } : undefined;
}

/** Refuses a redirect URL the configuration does not allow, as any invalid input: 400. */
export function assertRedirectUrl(config: Pick<Config, "redirectOrigins">, value: string | null | undefined) {
  const details = redirectUrlDetails(config, value);
  if (details) throw new ApiError("VALIDATION_ERROR", { details });
}
