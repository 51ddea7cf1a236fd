/**
 * `npm run soak`: the real app (src/index.ts under the main wrangler.toml) under mixed, racing
 * traffic for a bounded time, then the database checked against every answer it gave.
 *
 * 1. A fresh local D1 database in .wrangler/soak (removed and recreated), migrated by Wrangler.
 * 2. `wrangler dev` on a free port of 127.0.0.1, loopback only, with its own JWT secret. Its
 *    output goes to .wrangler/soak/wrangler-dev.log. The resend cooldown is 5 s instead of 60, so
 *    that resends happen within a minute's run.
 * 3. SOAK_CONNECTIONS request loops, each one request at a time, for SOAK_DURATION seconds, over
 *    20 organizations (8 admins and 2 operators each): creates from a small pool of addresses
 *    per organization (in mixed case), so duplicates race and get 409; lists with filters; gets;
 *    revokes and accepts of each organization's newest invitations, which other loops revoke,
 *    accept or resend at the same moment; resends; link previews. Some requests aim at another
 *    organization's invitation or accept with the wrong address. 429 RATE_LIMITED is a legitimate
 *    answer (per-user rate limits, the per-IP preview limit, the resend cooldown): counted apart.
 *    (soak/traffic.ts, recording into soak/observed.ts)
 * 4. With `wrangler dev` still running, the background work must settle within a minute: every
 *    event published, no invitation email still QUEUED (soak/drained.ts).
 * 5. `wrangler dev` stopped, the invariants checked with SQL through `wrangler d1 execute`: at
 *    most one live PENDING per organization and email; every 201 stored as answered; every 200
 *    revoke stored REVOKED and every 200 accept ACCEPTED (by whom, and at most one per
 *    invitation); resend_count equal to the 200 resends; organization_invitation_counts exact;
 *    no 5xx and no request left unanswered; every error in the JSON envelope with statusCode equal
 *    to the HTTP status; responses consistent with their requests and never another
 *    organization's invitation; no uncaught error and no error line in the Worker's log
 *    (soak/invariants.ts).
 * 6. The figures (requests per operation, status codes, req/s, latency p50/p99) and each
 *    invariant, held or VIOLATED, with its numbers. Exit code 1 when any is violated.
 *
 * Bounded: SOAK_DURATION (seconds of traffic, default 60, at most 600), SOAK_CONNECTIONS
 * (requests in flight, default 16, at most 64). Everything it starts, it stops, also on Ctrl-C,
 * SIGTERM and errors.
 */
import { mkdirSync, rmSync } from "node:fs";
import { type DevServer, localD1, startDev } from "../scripts/wrangler-dev.ts";
import { makeOrganizations } from "./soak/callers.ts";
import { drainedInvariant } from "./soak/drained.ts";
import {
  answerInvariants,
  databaseInvariants,
  devLogErrors,
  type Invariant,
  uncaughtCount,
} from "./soak/invariants.ts";
import { allStatuses, observed, requestCount } from "./soak/observed.ts";
import {
  ADMINS_PER_ORG,
  CONNECTIONS,
  DURATION_SECONDS,
  OPERATIONS,
  OPERATORS_PER_ORG,
  ORGANIZATIONS,
  SECRET,
} from "./soak/settings.ts";
import { runTraffic } from "./soak/traffic.ts";

const STATE = ".wrangler/soak";
const DEV_LOG = `${STATE}/wrangler-dev.log`;
const d1 = localD1(STATE);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

const ms = (value: number) => (Number.isNaN(value) ? "n/a" : `${value.toFixed(1)} ms`);
const statusList = (counts: Map<number, number>) =>
  [...counts]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status === 0 ? "no answer" : status}: ${n}`)
    .join(", ");

/** The figures, then each invariant with its numbers (and examples of what broke it). */
function summary(dev: DevServer, elapsed: number, invariants: Invariant[]): string {
  const requests = requestCount();
  const everyLatency = [...observed.latencies.values()].flat().sort((a, b) => a - b);
  const { races } = observed;
  const workerErrors = devLogErrors(DEV_LOG);
  return [
    "",
    `Soak: ${elapsed.toFixed(1)} s, ${CONNECTIONS} connections, ${ORGANIZATIONS} organizations, wrangler dev on ${new URL(dev.base).host}, local D1`,
    `Requests: ${requests}, ${(requests / elapsed).toFixed(1)} req/s, latency p50 ${ms(percentile(everyLatency, 0.5))}, p99 ${ms(percentile(everyLatency, 0.99))}`,
    `Status codes: ${statusList(allStatuses())}`,
    `429 RATE_LIMITED: ${observed.limiter429} by the rate limiters, ${observed.cooldown429} by the resend cooldown`,
    `Worker log: ${uncaughtCount(workerErrors)} uncaught errors, ${workerErrors.length} error lines (${DEV_LOG})`,
    `Races: ${races.createSameAddress} creates while a create of the same address was in flight, ${races.revokeOrAcceptSameInvitation} revokes/accepts while another on the same invitation was, ${races.resendWhileAcceptOrRevoke} resends overlapping a revoke/accept of the same invitation`,
    "",
    `${"operation".padEnd(10)}${"requests".padStart(9)}${"p50".padStart(11)}${"p99".padStart(11)}  statuses`,
    ...OPERATIONS.map((op) => {
      const sorted = (observed.latencies.get(op) ?? []).sort((a, b) => a - b);
      const counts = observed.statuses.get(op) ?? new Map<number, number>();
      const n = [...counts.values()].reduce((a, b) => a + b, 0);
      return `${op.padEnd(10)}${String(n).padStart(9)}${ms(percentile(sorted, 0.5)).padStart(11)}${ms(percentile(sorted, 0.99)).padStart(11)}  ${statusList(counts)}`;
    }),
    "",
    "Invariants:",
    ...invariants.flatMap((invariant) => [
      `  ${invariant.held ? "held    " : "VIOLATED"}  ${invariant.name}: ${invariant.numbers}`,
      ...(invariant.held ? [] : invariant.examples.map((example) => `              e.g. ${example}`)),
    ]),
  ].join("\n");
}

let dev: DevServer | undefined;

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true });

  process.stderr.write(`Migrating a fresh database in ${STATE} ...\n`);
  await d1.migrate();

  process.stderr.write(`Starting wrangler dev (output in ${DEV_LOG}) ...\n`);
  dev = await startDev({
    persistTo: STATE,
    vars: {
      JWT_SECRET: SECRET,
      // wrangler.toml's 60 s would refuse every resend of a one-minute run; 5 s lets them race.
      RESEND_COOLDOWN_SECONDS: "5",
    },
    logLevel: "warn",
    log: DEV_LOG,
    // Any answer from the app will do: 401 without a token.
    readyPath: "/api/v1/invitations",
    ready: (status) => status === 401,
  });
  const api = `${dev.base}/api/v1/invitations`;

  const organizations = await makeOrganizations();
  const first = organizations[0];
  if (!first) throw new Error("no organizations");
  // The soak's secret must be the one the Worker verifies with (a .dev.vars must not win).
  const probe = await fetch(`${api}?limit=1`, { headers: { Authorization: `Bearer ${first.operators[0]}` } });
  await probe.arrayBuffer();
  if (probe.status !== 200)
    throw new Error(`A soak token was answered ${probe.status}, not 200: is JWT_SECRET applied?`);

  process.stderr.write(
    `Soaking: ${DURATION_SECONDS} s, ${CONNECTIONS} connections, ${ORGANIZATIONS} organizations x ${ADMINS_PER_ORG} admins + ${OPERATORS_PER_ORG} operators\n`,
  );
  const started = performance.now();
  const progress = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    const requests = requestCount();
    process.stderr.write(
      `  ${seconds.toFixed(0)} s: ${requests} requests, ${(requests / seconds).toFixed(0)} req/s\n`,
    );
  }, 10_000);
  await runTraffic({ api, organizations }, CONNECTIONS, Date.now() + DURATION_SECONDS * 1000);
  clearInterval(progress);
  const elapsed = (performance.now() - started) / 1000;

  process.stderr.write("Waiting for the outbox and the emails to settle ...\n");
  const drained = await drainedInvariant(d1);
  process.stderr.write("Stopping wrangler dev, then checking the database ...\n");
  await dev.stop();
  const invariants = [...(await databaseInvariants(d1)), drained, ...answerInvariants(DEV_LOG)];

  console.log(summary(dev, elapsed, invariants));
  const violated = invariants.filter((invariant) => !invariant.held).length;
  console.log(violated === 0 ? "\nAll invariants held." : `\n${violated} invariant(s) VIOLATED.`);
  process.exitCode = violated === 0 ? 0 : 1;
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => dev?.stop());
