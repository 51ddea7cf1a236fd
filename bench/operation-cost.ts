/**
 * What each API operation costs in D1, all of it: the request, the work it leaves running after
 * its response, the publishing of its events by the jobs consumer and the sending of its emails
 * by the email consumer. Read from the cost lines the Worker logs (src/lib/cost-log.ts), which
 * `wrangler dev` writes to its log file: one request per operation, sent with its own
 * X-Request-Id; then the bench Worker hands the app's own queue consumer a "publish" job (the
 * outbox holding only this operation's events) and the operation's email jobs, each batch under a
 * queue name of its own, which its cost line carries.
 */
import { readFileSync } from "node:fs";
import { auth, inviteeAuth } from "./bench-worker.ts";
import { ORG } from "./database.ts";

export type Cost = { calls: number; queries: number; rowsRead: number; rowsWritten: number };
export type OperationCost = {
  operation: string;
  request: Cost;
  afterResponse: Cost;
  publishing: Cost;
  email: Cost;
  total: Cost;
};

type Line = Record<string, unknown>;
/** What the measured operations answer, as far as the next ones need it. */
type Answer = { id: string; token: string; results: { invitation?: { id: string } }[] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const none = (): Cost => ({ calls: 0, queries: 0, rowsRead: 0, rowsWritten: 0 });
const costOf = (line: Line): Cost => ({
  calls: Number(line.d1Calls),
  queries: Number(line.d1Queries),
  rowsRead: Number(line.d1RowsRead),
  rowsWritten: Number(line.d1RowsWritten),
});
const sum = (...costs: Cost[]): Cost =>
  costs.reduce(
    (a, b) => ({
      calls: a.calls + b.calls,
      queries: a.queries + b.queries,
      rowsRead: a.rowsRead + b.rowsRead,
      rowsWritten: a.rowsWritten + b.rowsWritten,
    }),
    none(),
  );

/** The JSON lines of the log so far (Wrangler may put a prefix before a Worker's line). */
function logLines(log: string): Line[] {
  const lines: Line[] = [];
  for (const text of readFileSync(log, "utf8").split("\n")) {
    const start = text.indexOf("{");
    if (start < 0) continue;
    try {
      lines.push(JSON.parse(text.slice(start)));
    } catch {}
  }
  return lines;
}

/** Waits until the log holds `count` lines that `match`; they are returned. */
async function linesFor(log: string, match: (line: Line) => boolean, count: number): Promise<Line[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = logLines(log).filter(match);
    if (found.length >= count || Date.now() > deadline) {
      if (found.length < count)
        throw new Error(`the log has ${found.length} of ${count} cost lines expected`);
      return found;
    }
    await sleep(100);
  }
}

/** Measures the operations, in an order that gives each what it needs (a link, a pending invitation). */
export async function operationCosts(base: string, log: string): Promise<OperationCost[]> {
  const results: OperationCost[] = [];
  const admin = await auth(ORG.create);
  const json = { "Content-Type": "application/json" };

  const queue = async (name: string, bodies: unknown[]): Promise<Cost> => {
    if (bodies.length === 0) return none();
    const res = await fetch(`${base}/__bench/queue`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ queue: name, bodies }),
    });
    if (!res.ok) throw new Error(`the bench queue answered ${res.status}`);
    const [line] = await linesFor(log, (l) => l.message === "queue" && l.queue === name, 1);
    return costOf(line as Line);
  };

  /** One operation: its request, what it left after its response, its events and its emails. */
  const measure = async (
    operation: string,
    method: string,
    path: string,
    options: {
      headers?: Record<string, string>;
      body?: unknown;
      emails?: (answer: Answer) => unknown[];
    } = {},
  ): Promise<Answer> => {
    const write = method !== "GET";
    // A write sends a "publish" job after its response unless one it sent less than a second ago
    // still waits (src/events/publisher.ts): waiting it out, each write does that work itself.
    if (write) await sleep(1_100);
    await fetch(`${base}/__bench/outbox/skip`, { method: "POST" }).then((res) => res.arrayBuffer());
    const requestId = `bench-cost-${operation.replace(/[^a-z0-9]+/gi, "-")}-${Date.now()}`;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        "X-Request-Id": requestId,
        ...options.headers,
        ...(options.body === undefined ? {} : json),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const body = (await res.json()) as Answer;
    if (!res.ok) throw new Error(`${operation} answered ${res.status}: ${JSON.stringify(body)}`);
    const lines = await linesFor(log, (l) => l.requestId === requestId && "d1Queries" in l, write ? 2 : 1);
    const request = costOf(lines.find((l) => l.message === "request") as Line);
    const afterResponse = sum(...lines.filter((l) => l.message === "after response").map(costOf));
    const publishing = write ? await queue(`${requestId}-publish`, [{ kind: "publish" }]) : none();
    const email = await queue(`${requestId}-email`, options.emails?.(body) ?? []);
    results.push({
      operation,
      request,
      afterResponse,
      publishing,
      email,
      total: sum(request, afterResponse, publishing, email),
    });
    return body;
  };

  const emailOf = (send: number) => (body: Answer) => [
    { kind: "invitation-email", invitationId: body.id, send },
  ];
  const large = await auth(ORG.large);
  await measure("list page 1, limit 20 (100k)", "GET", "/api/v1/invitations?page=1&limit=20", {
    headers: large,
  });
  await measure("get", "GET", `/api/v1/invitations/${ORG.large.slice(0, 24)}000000000001`, {
    headers: large,
  });
  const email = `cost-${Date.now()}@example.com`;
  const created = await measure("create", "POST", "/api/v1/invitations", {
    headers: admin,
    body: { email, role: "OPERATOR" },
    emails: emailOf(0),
  });
  await measure("preview (link lookup)", "GET", `/api/v1/invitations/lookup?token=${created.token}`);
  const resent = await measure("resend", "POST", `/api/v1/invitations/${created.id}/resend`, {
    headers: admin,
    emails: emailOf(1),
  });
  await measure("accept", "POST", "/api/v1/invitations/accept", {
    headers: await inviteeAuth(email),
    body: { token: resent.token },
  });
  const keyed = await measure("create with an Idempotency-Key", "POST", "/api/v1/invitations", {
    headers: { ...admin, "Idempotency-Key": crypto.randomUUID() },
    body: { email: `keyed-${email}` },
    emails: emailOf(0),
  });
  await measure("revoke", "DELETE", `/api/v1/invitations/${keyed.id}`, { headers: admin });
  await measure("bulk create, 100 per request", "POST", "/api/v1/invitations/bulk", {
    headers: admin,
    body: { invitations: Array.from({ length: 100 }, (_, i) => ({ email: `bulk${i}-${email}` })) },
    emails: (body) =>
      body.results.flatMap((r) =>
        r.invitation ? [{ kind: "invitation-email", invitationId: r.invitation.id, send: 0 }] : [],
      ),
  });
  return results;
}

/** The table: each part as rows read / rows written (statements), and the total. */
export function operationCostLines(costs: OperationCost[]): string[] {
  const cell = (c: Cost) => `${c.rowsRead} / ${c.rowsWritten} (${c.queries})`;
  return [
    "| operation: rows read / rows written (statements) | request | after its response | publishing its events | its emails | total |",
    "|---|---:|---:|---:|---:|---:|",
    ...costs.map(
      (c) =>
        `| ${c.operation} | ${cell(c.request)} | ${cell(c.afterResponse)} | ${cell(c.publishing)} | ${cell(c.email)} | ${cell(c.total)} |`,
    ),
    "",
  ];
}
