/**
 * The soak's invariants, judged once the traffic is over and wrangler dev has stopped: what the
 * database holds against every answer the API gave (read with SQL through `wrangler d1 execute`),
 * and what the answers showed on their own (no 5xx, none missing, the checks made as they came).
 */
import { readFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";
import type { LocalD1 } from "../../scripts/wrangler-dev.ts";
import { allStatuses, type Check, observed, requestCount } from "./observed.ts";

export type Invariant = { name: string; held: boolean; numbers: string; examples: string[] };

type Row = {
  id: string;
  organization_id: string;
  email: string;
  status: string;
  accepted_by: string | null;
  revoked_by: string | null;
  resend_count: number;
};

/** The database against the answers: uniqueness, every 201 and 200 stored as said, exact counters. */
export async function databaseInvariants(d1: LocalD1): Promise<Invariant[]> {
  const now = Date.now();
  const [duplicates, livePending, rows, actualCounts, counters, statusCountsOff, inviterCountsOff] = (
    await d1.query(
      [
        `SELECT organization_id, email, count(*) AS n FROM invitations WHERE status = 'PENDING' AND expires_at > ${now} GROUP BY organization_id, email HAVING n > 1`,
        `SELECT count(*) AS n FROM invitations WHERE status = 'PENDING' AND expires_at > ${now}`,
        "SELECT id, organization_id, email, status, accepted_by, revoked_by, resend_count FROM invitations",
        "SELECT organization_id, count(*) AS n FROM invitations GROUP BY organization_id",
        "SELECT organization_id, total FROM organization_invitation_counts",
        // The list's counters against count(*), as docs/database.md checks them: a row for each key off.
        `SELECT organization_id, status, role, i.n, c.total FROM (SELECT organization_id, status, role, count(*) AS n
         FROM invitations GROUP BY 1, 2, 3) i FULL JOIN invitation_counts c USING (organization_id, status, role)
         WHERE coalesce(i.n, 0) <> coalesce(c.total, 0)`,
        `SELECT organization_id, invited_by, status, role, i.n, c.total FROM (SELECT organization_id, invited_by, status,
         role, count(*) AS n FROM invitations GROUP BY 1, 2, 3, 4) i FULL JOIN inviter_invitation_counts c
         USING (organization_id, invited_by, status, role) WHERE coalesce(i.n, 0) <> coalesce(c.total, 0)`,
      ].join("; "),
    )
  ).map((result) => result ?? []);
  if (
    !duplicates ||
    !livePending ||
    !rows ||
    !actualCounts ||
    !counters ||
    !statusCountsOff ||
    !inviterCountsOff
  )
    throw new Error("D1 answered too few results");

  const { created, revokedBy, acceptedBy, resends } = observed;
  const stored = new Map((rows as Row[]).map((row) => [row.id, row]));
  const invariants: Invariant[] = [];

  invariants.push({
    name: "at most one live PENDING per (organization, email)",
    held: duplicates.length === 0,
    numbers: `${duplicates.length} duplicated pairs among ${Number(livePending[0]?.n ?? 0)} live PENDING`,
    examples: duplicates.slice(0, 5).map((d) => JSON.stringify(d)),
  });

  const missing: string[] = [];
  for (const [id, expected] of created) {
    const row = stored.get(id);
    if (!row || row.organization_id !== expected.org || row.email !== expected.email) {
      missing.push(`${id} ${expected.org} ${expected.email}: ${row ? JSON.stringify(row) : "absent"}`);
    }
  }
  invariants.push({
    name: "every 201 is stored with its id, organization and email",
    held: missing.length === 0,
    numbers: `${created.size} created, ${created.size - missing.length} stored as answered, ${missing.length} not; ${stored.size} rows in all`,
    examples: missing.slice(0, 5),
  });

  const stateChanges = (
    name: string,
    answered: Map<string, string[]>,
    status: string,
    by: (row: Row) => string | null,
  ): Invariant => {
    const wrong: string[] = [];
    for (const [id, callers] of answered) {
      const row = stored.get(id);
      if (row?.status !== status || by(row) !== callers[0]) {
        wrong.push(`${id} (200 for ${callers.join(", ")}): ${row ? JSON.stringify(row) : "absent"}`);
      }
    }
    return {
      name,
      held: wrong.length === 0,
      numbers: `${answered.size} answered 200, ${answered.size - wrong.length} stored ${status} by that caller, ${wrong.length} not`,
      examples: wrong.slice(0, 5),
    };
  };
  invariants.push(
    stateChanges("every 200 revoke is stored REVOKED", revokedBy, "REVOKED", (row) => row.revoked_by),
  );
  invariants.push(
    stateChanges("every 200 accept is stored ACCEPTED", acceptedBy, "ACCEPTED", (row) => row.accepted_by),
  );

  const twice = [...new Set([...revokedBy.keys(), ...acceptedBy.keys()])]
    .map((id) => ({ id, revokes: revokedBy.get(id)?.length ?? 0, accepts: acceptedBy.get(id)?.length ?? 0 }))
    .filter(({ revokes, accepts }) => revokes + accepts > 1);
  invariants.push({
    name: "at most one revoke or accept succeeds per invitation",
    held: twice.length === 0,
    numbers: `${revokedBy.size + acceptedBy.size} invitations changed, ${twice.length} changed more than once`,
    examples: twice.slice(0, 5).map((t) => JSON.stringify(t)),
  });

  const resendMismatch: string[] = [];
  for (const row of rows as Row[]) {
    const answered = resends.get(row.id) ?? 0;
    if (row.resend_count !== answered)
      resendMismatch.push(`${row.id}: stored ${row.resend_count}, 200s ${answered}`);
  }
  const resent = [...resends.values()].reduce((sum, n) => sum + n, 0);
  invariants.push({
    name: "resend_count equals the 200 resends",
    held: resendMismatch.length === 0,
    numbers: `${resent} resends answered 200 over ${resends.size} invitations, ${resendMismatch.length} rows differ`,
    examples: resendMismatch.slice(0, 5),
  });

  const actual = new Map(actualCounts.map((r) => [String(r.organization_id), Number(r.n)]));
  const counted = new Map(counters.map((r) => [String(r.organization_id), Number(r.total)]));
  const countMismatch = [...new Set([...actual.keys(), ...counted.keys()])]
    .filter((org) => (actual.get(org) ?? 0) !== (counted.get(org) ?? 0))
    .map((org) => `${org}: count(*) ${actual.get(org) ?? 0}, counter ${counted.get(org) ?? "no row"}`);
  invariants.push({
    name: "organization_invitation_counts equals count(*) per organization",
    held: countMismatch.length === 0,
    numbers: `${actual.size} organizations, ${countMismatch.length} off`,
    examples: countMismatch.slice(0, 5),
  });
  for (const [name, off] of [
    ["invitation_counts", statusCountsOff],
    ["inviter_invitation_counts", inviterCountsOff],
  ] as const) {
    invariants.push({
      name: `${name} equals count(*) per key`,
      held: off.length === 0,
      numbers: `${off.length} keys off`,
      examples: off.slice(0, 5).map((row) => JSON.stringify(row)),
    });
  }
  return invariants;
}

/** Error lines the Worker wrote to wrangler dev's output: its own error lines, and the runtime's. */
export function devLogErrors(devLog: string): string[] {
  try {
    return stripVTControlCharacters(readFileSync(devLog, "utf8"))
      .split("\n")
      .filter(
        (line) => line.includes('"level":"error"') || UNCAUGHT.test(line) || line.includes("✘ [ERROR]"),
      );
  } catch {
    return [];
  }
}

/** An exception nothing caught (such as "Promise will never complete"), as workerd reports it. */
const UNCAUGHT = /\buncaught\b/i;

/** How many of `lines` report an uncaught exception. */
export const uncaughtCount = (lines: string[]) => lines.filter((line) => UNCAUGHT.test(line)).length;

const fromCheck = (name: string, check: Check, what: string): Invariant => ({
  name,
  held: check.failed === 0,
  numbers: `${check.checked} ${what}, ${check.failed} not`,
  examples: check.examples,
});

/** The answers on their own: no 5xx (with the Worker's error lines), none missing, each check's tally. */
export function answerInvariants(devLog: string): Invariant[] {
  const statuses = allStatuses();
  const requests = requestCount();
  const serverErrors = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0);
  const unanswered = statuses.get(0) ?? 0;
  const workerErrors = devLogErrors(devLog);
  const { checks } = observed;
  return [
    {
      name: "no 5xx response",
      held: serverErrors === 0,
      numbers: `${serverErrors} of ${requests}; ${workerErrors.length} error lines in ${devLog}`,
      examples: workerErrors.slice(0, 5).map((line) => line.slice(0, 400)),
    },
    {
      name: "no uncaught error and no error line in the Worker's log",
      held: workerErrors.length === 0,
      numbers: `${uncaughtCount(workerErrors)} uncaught errors, ${workerErrors.length} error lines in all, in ${devLog}`,
      examples: workerErrors.slice(0, 5).map((line) => line.slice(0, 400)),
    },
    {
      name: "every request answered (no connection error or timeout)",
      held: unanswered === 0,
      numbers: `${unanswered} of ${requests} unanswered`,
      examples: observed.transportErrors,
    },
    fromCheck(
      "every non-2xx has the JSON error envelope, statusCode = HTTP status",
      checks.envelope,
      "errors checked",
    ),
    fromCheck("2xx bodies match their requests", checks.response, "bodies checked"),
    fromCheck(
      "another organization's invitations stay out of reach (404, never listed)",
      checks.tenancy,
      "checked",
    ),
    fromCheck("an accept by the wrong address never succeeds", checks.wrongAddress, "wrong-address accepts"),
  ];
}
