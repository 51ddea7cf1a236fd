/**
 * `npm run bench`: the invitations API under load on loopback, beside its baselines, in one run.
 *
 * 1. A fresh local D1 database (under .wrangler/bench), migrated by Wrangler and seeded with SQL:
 *    organizations of 1,000, 10,000 and 100,000 invitations, noise in 200 others, and a pool of
 *    pending invitations to revoke. (Per-organization totals are kept by the schema's triggers.)
 *    (bench/database.ts)
 * 2. `wrangler dev` on a free port of 127.0.0.1 with bench/worker.ts: the app and its two
 *    baselines in one Worker.
 * 3. Each scenario: a warm-up, then a fixed duration at fixed connections (autocannon), every
 *    status counted; then a few sequential requests to read D1's rows_read per request. Scenarios
 *    compared with each other (the app and its baselines) share their time round-robin.
 *    (bench/load.ts)
 * 4. The cron sweep of a 10,000 and a 100,000 expired backlog, run after run until drained.
 * 5. What things cost in D1: bytes per invitation in the seeded database (bench/storage.ts); then,
 *    on a second `wrangler dev` whose log is kept, rows read by each kind of list request at 1k and
 *    100k, page 1 with every filter, deep pages by number and by cursor (bench/list-cost.ts); and
 *    each operation's D1 cost, the work after its response, its events'
 *    publishing and its emails included, from the Worker's own cost lines (bench/operation-cost.ts).
 * 6. A Markdown table and a JSON file in bench/results/, and the gzipped bundle size, with the
 *    goals each figure is held to. (bench/report.ts)
 *
 * Bounded: BENCH_DURATION (seconds per scenario, default 10, at most 60), BENCH_ROUNDS (slices it
 * is cut into, default 5), BENCH_WARMUP (default 2),
 * BENCH_CONNECTIONS (default 10, at most 64). BENCH_ONLY (a regular expression) runs only the
 * scenarios it matches and writes no results; BENCH_COSTS=only runs step 5 alone (no load) and
 * writes no results. Everything it starts, it stops.
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { wrangler } from "../scripts/wrangler-dev.ts";
import { auth, startBenchWorker } from "./bench-worker.ts";
import {
  ORG,
  PEER_SESSION_TOKEN,
  prepareDatabase,
  REVOKE_POOL,
  SIZES,
  STATE,
  sweepBacklog,
} from "./database.ts";
import { BULK_ITEMS, goals, SCENARIO } from "./goals.ts";
import { listCostLines } from "./list-cost.ts";
import { compare, describe, LOAD, type LoadResult, type Target } from "./load.ts";
import { type OperationCost, operationCostLines, operationCosts } from "./operation-cost.ts";
import { PEER_BASE_PATH } from "./peer/base-path.ts";
import { machine, writeReport } from "./report.ts";
import { measureStorage, storageLines } from "./storage.ts";

/** The peer's (Better Auth's) requests, with the bench user's session token. */
const PEER = { Authorization: `Bearer ${PEER_SESSION_TOKEN}` };

/** The next of ORG.revoke's pending invitations to revoke. */
let revokeNext = 1;

/** The scenarios in groups; a group's scenarios are compared with each other, round-robin. */
async function scenarioGroups(): Promise<[string, Target][][]> {
  const noRateLimit = { "x-bench-no-rate-limit": "1" };
  const lastPage = Math.ceil(SIZES.large / 100);
  let email = 0;
  const listPage1 = async (org: string, extra: Record<string, string> = {}): Promise<Target> => ({
    method: "GET",
    path: "/api/v1/invitations?page=1&limit=20",
    headers: { ...(await auth(org)), ...extra },
  });
  /** An app create of ORG.create as an admin; `extra` adds headers and changes the rest. */
  const create = async (extra: Partial<Target> = {}): Promise<Target> => ({
    method: "POST",
    path: "/api/v1/invitations",
    body: () => JSON.stringify({ email: `new${email++}@example.com`, role: "OPERATOR" }),
    ...extra,
    headers: { ...(await auth(ORG.create)), "Content-Type": "application/json", ...extra.headers },
  });
  return [
    [
      ["baseline: constant JSON", { method: "GET", path: "/__bench/constant" }],
      [SCENARIO.rawList, { method: "GET", path: `/__bench/raw/list?org=${ORG.large}&page=1&limit=20` }],
      [SCENARIO.list1k, await listPage1(ORG.small)],
      ["list page 1, limit 20 (10k)", await listPage1(ORG.medium)],
      [SCENARIO.list100k, await listPage1(ORG.large)],
      [SCENARIO.list100kNoLimiter, await listPage1(ORG.large, noRateLimit)],
      [
        SCENARIO.peerList1k,
        {
          method: "GET",
          path: `${PEER_BASE_PATH}/organization/list-invitations?organizationId=${ORG.small}`,
          headers: PEER,
        },
      ],
    ],
    [
      [
        "baseline: raw D1 list last page (100k)",
        { method: "GET", path: `/__bench/raw/list?org=${ORG.large}&page=${lastPage}&limit=100` },
      ],
      [
        "list last page, limit 100 (100k)",
        {
          method: "GET",
          path: `/api/v1/invitations?page=${lastPage}&limit=100`,
          headers: await auth(ORG.large),
        },
      ],
    ],
    [
      [
        SCENARIO.rawInsert,
        {
          method: "POST",
          path: "/__bench/raw/create",
          headers: { "Content-Type": "application/json" },
          body: () => JSON.stringify({ org: ORG.rawCreate, email: `raw${email++}@example.com` }),
        },
      ],
      [SCENARIO.create, await create()],
      [SCENARIO.createNoLimiter, await create({ headers: noRateLimit })],
      [
        SCENARIO.peerInvite,
        {
          method: "POST",
          path: `${PEER_BASE_PATH}/organization/invite-member`,
          headers: { ...PEER, "Content-Type": "application/json" },
          body: () =>
            JSON.stringify({
              email: `peer${email++}@example.com`,
              role: "member",
              organizationId: ORG.peerCreate,
            }),
        },
      ],
      // A fresh key per request: the first use of a key, the cost every keyed create pays.
      [SCENARIO.keyedCreate, await create({ fresh: () => ({ "Idempotency-Key": crypto.randomUUID() }) })],
      [
        SCENARIO.bulk,
        await create({
          path: "/api/v1/invitations/bulk",
          body: () =>
            JSON.stringify({
              invitations: Array.from({ length: BULK_ITEMS }, () => ({
                email: `bulk${email++}@example.com`,
              })),
            }),
        }),
      ],
    ],
    [
      [
        "revoke",
        {
          method: "DELETE",
          path: () =>
            `/api/v1/invitations/${ORG.revoke.slice(0, 24)}${String(revokeNext++).padStart(12, "0")}`,
          headers: await auth(ORG.revoke),
        },
      ],
    ],
  ];
}

/** The production Worker's bundle (wrangler.toml), as `wrangler deploy` would upload it. */
async function bundleSize() {
  const out = `${STATE}/bundle`;
  await wrangler(["deploy", "--dry-run", "--outdir", out, "-c", "wrangler.toml"]);
  const code = readFileSync(`${out}/index.js`);
  return { bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

/** Step 5: a `wrangler dev` that keeps its log, for the list's rows read and each operation's cost. */
async function measureCosts(): Promise<{ listCosts: string[]; operationCosts: OperationCost[] }> {
  process.stderr.write("D1 costs ...\n");
  const log = `${STATE}/wrangler-dev.log`;
  const dev = await startBenchWorker(STATE, {
    log,
    vars: { RESEND_COOLDOWN_SECONDS: "0", EMAIL_FROM: "invitations@example.com" },
  });
  try {
    return { listCosts: await listCostLines(dev.base), operationCosts: await operationCosts(dev.base, log) };
  } finally {
    await dev.stop();
  }
}

async function main() {
  const startedAt = new Date().toISOString();
  process.stderr.write("Preparing the database ...\n");
  await prepareDatabase();
  const storage = measureStorage(STATE);

  if (process.env.BENCH_COSTS === "only") {
    const costs = await measureCosts();
    console.log(
      [...storageLines(storage), ...costs.listCosts, ...operationCostLines(costs.operationCosts)].join("\n"),
    );
    return;
  }

  process.stderr.write("Starting wrangler dev ...\n");
  const dev = await startBenchWorker(STATE);

  process.stderr.write(
    `Load: ${LOAD.connections} connections, ${LOAD.warmup} s warm-up, ${LOAD.duration} s measured each in ${LOAD.rounds} rounds\n`,
  );
  const results: LoadResult[] = [];
  for (const group of await scenarioGroups()) results.push(...(await compare(dev.base, group)));
  if (revokeNext > REVOKE_POOL) throw new Error("The revoke pool ran out: raise REVOKE_POOL");

  if (LOAD.only) {
    await dev.stop();
    console.log(results.map(describe).join("\n"));
    return;
  }
  process.stderr.write("Cron sweep ...\n");
  const sweeps = [
    await sweepBacklog(dev.base, "10k", ORG.sweep10k, 10_000),
    await sweepBacklog(dev.base, "100k", ORG.sweep100k, 100_000),
  ];
  await dev.stop();

  const costs = await measureCosts();
  process.stderr.write("Bundle ...\n");
  const bundle = await bundleSize();

  writeReport({
    startedAt,
    machine: machine(),
    settings: { connections: LOAD.connections, warmupSeconds: LOAD.warmup, durationSeconds: LOAD.duration },
    results,
    sweeps,
    storage,
    ...costs,
    bundle,
    goals: goals(results, sweeps),
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
