import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../lib/app-env";
import { sha256 } from "../lib/digest";
import { ApiError } from "../lib/errors";
import { describeError, requestLogger } from "../lib/log";
import { IdempotencyKey, REPLAYED_HEADER } from "./idempotency.headers";
import { claim, release, type Slot, storeAnswer } from "./idempotency.repository";
import { answerKey, open, seal } from "./sealed-answer";

/** Headers of the first answer that a replay repeats; the rest are set afresh (request id, bookmark). */
const REPLAYED_HEADERS = ["content-type", "location", "cache-control"];

/**
 * Only a success is stored: a refused request changes nothing, its key included, so its retry
 * is judged again (and answered the same while nothing else has changed).
 */
const isStored = (status: number) => status >= 200 && status < 300;

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
    // A refusal (an ApiError) or a failure: nothing is kept, the key is freed so the retry runs
    // again, and the error goes on to `onError`, the one renderer. A key that cannot be freed
    // lapses with its lock; for a failure that is all there is to it (`onError` logs the
    // failure itself), but a refusal is otherwise not logged, and its retries wait meanwhile.
    await release(slot).catch((releaseError: unknown) => {
      if (error instanceof ApiError) {
        requestLogger(c)("error", "Freeing an Idempotency-Key after a refusal failed", {
          code: error.code,
          error: describeError(releaseError),
        });
      }
    });
    throw error;
  }
  try {
    if (isStored(res.status)) {
      const headers: Record<string, string> = {};
      for (const name of REPLAYED_HEADERS) {
        const value = res.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      const answer = { status: res.status, headers, body: await res.clone().text() };
      await storeAnswer(slot, await seal(cipher, slot.fingerprint, answer));
    } else {
      await release(slot);
    }
  } catch (error) {
    // The change is made and this is its answer; a retry after the lock lapses runs it again.
    requestLogger(c)("error", "Storing an idempotent answer failed", { error: describeError(error) });
  }
  return res;
}
