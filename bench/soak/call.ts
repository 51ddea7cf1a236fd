/**
 * One soak request: timed, its status counted, and, when it is an error, its envelope checked.
 * No answer (a connection error or timeout) is counted too, as status 0.
 */
import { countStatus, failCheck, observed } from "./observed.ts";
import { type Operation, REQUEST_TIMEOUT_MS } from "./settings.ts";

export type Answer = { status: number; body: unknown };

const ENVELOPE_KEYS = ["code", "details", "error", "message", "statusCode"].join(",");

/** Every non-2xx: the JSON error envelope, exactly its keys, statusCode equal to the HTTP status. */
function checkEnvelope(
  op: Operation,
  status: number,
  contentType: string | null,
  body: unknown,
  text: string,
) {
  const check = observed.checks.envelope;
  check.checked++;
  const envelope = body as Record<string, unknown> | undefined;
  const ok =
    contentType?.startsWith("application/json") === true &&
    typeof envelope === "object" &&
    envelope !== null &&
    Object.keys(envelope).sort().join(",") === ENVELOPE_KEYS &&
    typeof envelope.code === "string" &&
    typeof envelope.details === "object" &&
    envelope.details !== null &&
    !Array.isArray(envelope.details) &&
    typeof envelope.error === "string" &&
    typeof envelope.message === "string" &&
    envelope.statusCode === status;
  if (!ok) failCheck(check, `${op} ${status}: ${text.slice(0, 200)}`);
}

/** One request, timed and counted; undefined when no answer came (counted as a transport error). */
export async function call(
  op: Operation,
  method: string,
  url: string,
  { token, json }: { token?: string; json?: unknown } = {},
): Promise<Answer | undefined> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const started = performance.now();
  let status: number;
  let text: string;
  let contentType: string | null;
  try {
    const res = await fetch(url, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await res.text();
    status = res.status;
    contentType = res.headers.get("Content-Type");
  } catch (error) {
    countStatus(op, 0);
    if (observed.transportErrors.length < 5)
      observed.transportErrors.push(`${op} ${method}: ${String(error)}`);
    return undefined;
  }
  observed.latencies.get(op)?.push(performance.now() - started);
  countStatus(op, status);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 300) checkEnvelope(op, status, contentType, body, text);
  if (status === 429) {
    // The resend cooldown says when the invitation can go again; the rate limiters say no more.
    const message = (body as { message?: unknown } | undefined)?.message;
    if (typeof message === "string" && message.startsWith("This invitation was sent recently"))
      observed.cooldown429++;
    else observed.limiter429++;
  }
  return { status, body };
}
