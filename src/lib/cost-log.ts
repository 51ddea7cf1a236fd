import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { createDb, type Db } from "../db/client";
import { databaseFor } from "../db/databases";
import type { AppEnv } from "./app-env";
import { costFields, countD1, type D1Cost, noCost } from "./d1-cost";
import { describeError, type Logger, requestLogger } from "./log";

/*
 * What each invocation costs, one line each, for an operator reading Workers Logs: a request's
 * line when it has answered, a line for the work it left running after its response (same
 * `requestId`), and a line per cron run and queue batch (index.ts). D1 figures are counted at the
 * binding (d1-cost.ts). A line carries the route's pattern, never the URL: a query string may hold
 * an invitation's link token.
 */

/** Milliseconds since `started`, as the runtime's clock tells them (it moves on I/O). */
const since = (started: number) => Date.now() - started;

/**
 * The request's line: `route` (the matched pattern, e.g. /api/v1/invitations/:id), `status`,
 * `durationMs`, and the D1 cost of everything the request ran before answering. Its D1 session
 * (d1-session.ts) counts into the cost this middleware sets.
 */
export const logRequestCost = createMiddleware<AppEnv>(async (c, next) => {
  const started = Date.now();
  const cost = noCost();
  c.set("d1Cost", cost);
  try {
    await next();
  } finally {
    requestLogger(c)("info", "request", {
      method: c.req.method,
      // The pattern of the handler that answered (GET /lookup also matches /:id, registered after).
      route: routePath(c),
      status: c.res.status,
      durationMs: since(started),
      ...costFields(cost),
    });
  }
});

/** The D1 binding, counting into this request's cost (set by `logRequestCost`; a fresh one without). */
export function countedD1(c: Context<AppEnv>): D1Database {
  let cost = c.get("d1Cost");
  if (cost === undefined) {
    cost = noCost();
    c.set("d1Cost", cost);
  }
  return countD1(databaseFor(c.env), cost);
}

/**
 * Runs `work` after the response has been sent (`waitUntil`), on a D1 session of its own, and
 * logs its line: `after` (what the work is), `durationMs`, its D1 cost, and the request's id.
 */
export function afterResponse(
  c: Context<AppEnv>,
  after: string,
  work: (db: Db, log: Logger) => Promise<unknown>,
) {
  const log = requestLogger(c);
  const cost = noCost();
  const db = createDb(countD1(databaseFor(c.env).withSession("first-primary"), cost));
  const started = Date.now();
  c.executionCtx.waitUntil(
    work(db, log)
      .catch((error) =>
        log("error", "Work after the response failed", { after, error: describeError(error) }),
      )
      .finally(() =>
        log("info", "after response", { after, durationMs: since(started), ...costFields(cost) }),
      ),
  );
}

/**
 * Runs a cron run's or queue batch's `work` on a D1 binding that counts, then logs the
 * invocation's line (`invocation`: "cron" or "queue") with its duration and D1 cost.
 */
export async function withInvocationCost<T>(
  env: Env,
  log: Logger,
  invocation: "cron" | "queue",
  work: (db: D1Database) => Promise<T>,
): Promise<T> {
  const cost: D1Cost = noCost();
  const started = Date.now();
  try {
    return await work(countD1(databaseFor(env), cost));
  } finally {
    log("info", invocation, { durationMs: since(started), ...costFields(cost) });
  }
}
