/**
 * `npm run bench`: the invitations API under load on loopback, beside its baselines, in one run.
 *
 * 1. A fresh local D1 database (under .wrangler/bench), migrated by Wrangler and seeded with SQL:
 *    organizations of 1,000, 10,000 and 100,000 invitations, noise in 200 others, and a pool of
 *    pending invitations to revoke. (Per-organization totals are kept by the schema's triggers.)
 * 2. `wrangler dev` on 127.0.0.1 with bench/worker.ts: the app and its two baselines in one Worker.
 * 3. Each scenario: a warm-up, then a fixed duration at fixed connections (autocannon), every
 *    status counted; then a few sequential requests to read D1's rows_read per request. Scenarios
 *    compared with each other (the app and its baselines) share their time round-robin.
 * 4. The cron sweep of a 10,000 and a 100,000 expired backlog, run after run until drained.
 * 5. A Markdown table and a JSON file in bench/results/, and the gzipped bundle size.
 *
 * Bounded: BENCH_DURATION (seconds per scenario, default 10, at most 60), BENCH_ROUNDS (slices it
 * is cut into, default 5), BENCH_WARMUP (default 2),
 * BENCH_CONNECTIONS (default 10, at most 64). BENCH_ONLY (a regular expression) runs only the
 * scenarios it matches and writes no results. Everything it starts, it stops.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { sign } from "hono/jwt";

const bounded = (name: string, fallback: number, max: number) =>
  Math.min(Math.max(Number(process.env[name] ?? fallback) || fallback, 1), max);
const DURATION = bounded("BENCH_DURATION", 10, 60);
const WARMUP = bounded("BENCH_WARMUP", 2, 10);
const CONNECTIONS = bounded("BENCH_CONNECTIONS", 10, 64);
const ROUNDS = bounded("BENCH_ROUNDS", 5, 20);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;

const HOST = "127.0.0.1";
const PORT = 8799;
const BASE = `http://${HOST}:${PORT}`;
const STATE = ".wrangler/bench";
const SECRET = "bench-secret-not-for-production-0123456789";
const WRANGLER = fileURLToPath(new URL("bin/wrangler.js", import.meta.resolve("wrangler/package.json")));
const DAY = 86_400_000;

/** Organizations by role in the benchmark; ids shaped `<tag>-0000-4000-8000-<n>`. */
const ORG = {
  small: "a0000001-0000-4000-8000-000000000000",
  medium: "a0000002-0000-4000-8000-000000000000",
  large: "a0000003-0000-4000-8000-000000000000",
  revoke: "a0000004-0000-4000-8000-000000000000",
  create: "a0000005-0000-4000-8000-000000000000",
  rawCreate: "a0000006-0000-4000-8000-000000000000",
  sweep10k: "a0000007-0000-4000-8000-000000000000",
  sweep100k: "a0000008-0000-4000-8000-000000000000",
};
const SIZES = { small: 1_000, medium: 10_000, large: 100_000 };
const REVOKE_POOL = 80_000;
/** Items per bulk create request: the most one may hold. */
const BULK_ITEMS = 100;
const NOISE_ORGS = 200;
const NOISE_EACH = 50;

const children: ChildProcess[] = [];
function stopAll() {
  for (const child of children) {
    if (child.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
    }
  }
}
process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

/**
 * Asynchronous on purpose: a synchronous call blocks the event loop for the seconds Wrangler takes,
 * so fetch's pooled keep-alive connection, closed by wrangler dev meanwhile, is reused for the next
 * request anyway, which then fails with "other side closed" (POST is not retried).
 */
async function wrangler(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [WRANGLER, ...args], {
    encoding: "utf8",
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

function d1(args: string[]): Promise<string> {
  return wrangler(["d1", ...args, "DB", "--local", "--persist-to", STATE, "-c", "bench/wrangler.toml"]);
}

/** `count` invitations for `org` in one INSERT ... SELECT over a recursive sequence. */
function seedSql(org: string, count: number, { status = "PENDING", expiresIn = 7 * DAY } = {}): string {
  const now = Date.now();
  const idPrefix = org.slice(0, 24); // "a000000N-0000-4000-8000-"
  return `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${count})
INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at, accepted_at)
SELECT '${idPrefix}' || printf('%012d', n), '${org}', 'user' || n || '@${org.slice(0, 8)}.example.com',
       CASE n % 3 WHEN 0 THEN 'ORG_ADMIN' WHEN 1 THEN 'OPERATOR' ELSE 'VIEWER' END,
       '${status}', 'seeder', ${now - 30 * DAY} + n * 1000, ${now - 30 * DAY} + n * 1000,
       ${now + expiresIn}, NULL
FROM seq;`;
}

function noiseSql(): string {
  const now = Date.now();
  return `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${NOISE_ORGS * NOISE_EACH})
INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at, accepted_at)
SELECT 'b0000000-0000-4000-8000-' || printf('%012d', n), 'c0000000-0000-4000-8000-' || printf('%012d', n % ${NOISE_ORGS}),
       'noise' || n || '@example.com', 'VIEWER', 'PENDING', 'seeder', ${now} - n * 1000, ${now} - n * 1000, ${now + 7 * DAY}, NULL
FROM seq;`;
}

async function runSqlFile(name: string, sql: string) {
  const file = `${STATE}/${name}.sql`;
  writeFileSync(file, sql);
  await d1(["execute", "--file", file, "--yes"]);
}

/** Refuses to start when something already answers on the port (say, a server a killed run left). */
async function ensurePortFree() {
  try {
    await fetch(`${BASE}/`, { signal: AbortSignal.timeout(1000) });
  } catch {
    return;
  }
  throw new Error(
    `Something already listens on ${BASE}; stop it first (a wrangler dev left by an earlier run?)`,
  );
}

async function waitUntilUp(child: ChildProcess) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error("wrangler dev exited before it was ready");
    try {
      if ((await fetch(`${BASE}/__bench/constant`)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("wrangler dev did not answer within 60 s");
}

type LoadResult = {
  scenario: string;
  rps: number;
  /** req/s in each round-robin round, for ratios between scenarios of the same round. */
  roundRps: number[];
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  rowsRead: number | null;
};

type Target = {
  method: "GET" | "POST" | "DELETE";
  path: string | (() => string);
  headers?: Record<string, string>;
  body?: () => string;
  /** Headers made anew for each request. */
  fresh?: () => Record<string, string>;
};

function cannon(target: Target, duration: number) {
  return autocannon({
    url: BASE,
    connections: CONNECTIONS,
    duration,
    requests: [
      {
        method: target.method,
        path: typeof target.path === "string" ? target.path : "/",
        headers: target.headers,
        setupRequest: (request) => ({
          ...request,
          path: typeof target.path === "string" ? target.path : target.path(),
          headers: { ...request.headers, ...target.fresh?.() },
          body: target.body?.(),
        }),
      },
    ],
  });
}

/** D1 rows read per request, from the bench Worker's header, over a few sequential requests. */
async function rowsReadPerRequest(target: Target, samples = 5): Promise<number | null> {
  let total = 0;
  for (let i = 0; i < samples; i++) {
    const path = typeof target.path === "string" ? target.path : target.path();
    const res = await fetch(`${BASE}${path}`, {
      method: target.method,
      headers: { ...target.headers, ...target.fresh?.(), "x-bench-measure": "1" },
      body: target.body?.(),
    });
    await res.arrayBuffer();
    const rows = res.headers.get("x-bench-rows-read");
    if (rows === null) return null;
    total += Number(rows);
  }
  return total / samples;
}

const median = (values: number[]) => {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle)
    ? ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2
    : (sorted[Math.floor(middle)] ?? Number.NaN);
};

/**
 * Scenarios that are compared with each other run round-robin: ROUNDS slices each, the order
 * rotating every round, so that drift on a noisy machine falls on all of them alike. A scenario's
 * req/s is its requests over its measured time; its p50 the median of its rounds' p50s; its p99
 * the worst of its rounds' p99s.
 */
async function compare(scenarios: [string, Target][]): Promise<LoadResult[]> {
  const chosen = scenarios.filter(([name]) => !ONLY || ONLY.test(name));
  const slice = Math.max(DURATION / ROUNDS, 1);
  const rounds = new Map<string, autocannon.Result[]>(chosen.map(([name]) => [name, []]));
  for (const [name, target] of chosen) {
    process.stderr.write(`  warm-up: ${name}\n`);
    await cannon(target, WARMUP);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < chosen.length; i++) {
      const [name, target] = chosen[(i + round) % chosen.length] as [string, Target];
      rounds.get(name)?.push(await cannon(target, slice));
    }
  }
  const results: LoadResult[] = [];
  for (const [scenario, target] of chosen) {
    const runs = rounds.get(scenario) ?? [];
    const requests = runs.reduce((n, r) => n + r.requests.total, 0);
    const result: LoadResult = {
      scenario,
      rps: requests / (slice * runs.length),
      roundRps: runs.map((r) => r.requests.total / slice),
      p50: median(runs.map((r) => r.latency.p50)),
      p99: Math.max(...runs.map((r) => r.latency.p99)),
      requests,
      non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
      errors: runs.reduce((n, r) => n + r.errors + r.timeouts, 0),
      rowsRead: await rowsReadPerRequest(target),
    };
    process.stderr.write(`  ${scenario}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms\n`);
    results.push(result);
  }
  return results;
}

/** app / baseline req/s, round by round: the median and the range. */
function ratio(app: LoadResult, baseline: LoadResult) {
  const ratios = app.roundRps.map((rps, i) => rps / (baseline.roundRps[i] ?? Number.NaN));
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

type SweepRun = {
  expired: number;
  batches: number;
  complete: boolean;
  rowsRead: number;
  rowsWritten: number;
  wallMs: number;
};

async function sweepBacklog(label: string, org: string, size: number) {
  process.stderr.write(`  sweep ${label} ...`);
  await runSqlFile(`backlog-${label}`, seedSql(org, size, { expiresIn: -DAY }));
  const runs: SweepRun[] = [];
  for (let run = 0; run < 20; run++) {
    // Timed here: inside a Worker the clock only moves on I/O, so it cannot time its own CPU.
    const started = performance.now();
    const res = await fetch(`${BASE}/__bench/sweep?now=${Date.now()}`, { method: "POST" });
    if (!res.ok) throw new Error(`sweep answered ${res.status}: ${await res.text()}`);
    const result = (await res.json()) as SweepRun;
    runs.push({ ...result, wallMs: performance.now() - started });
    if (result.complete) break;
  }
  const totalMs = runs.reduce((n, r) => n + r.wallMs, 0);
  const sum = (key: "expired" | "batches" | "rowsRead" | "rowsWritten") =>
    runs.reduce((n, r) => n + r[key], 0);
  const left = JSON.parse(
    await d1([
      "execute",
      "--json",
      "--command",
      `SELECT count(*) AS n FROM invitations WHERE organization_id = '${org}' AND status = 'PENDING'`,
    ]),
  )[0].results[0].n as number;
  process.stderr.write(` ${runs.length} run(s), ${Math.round(totalMs)} ms\n`);
  return {
    backlog: size,
    runs: runs.length,
    expired: sum("expired"),
    leftPending: left,
    statements: sum("batches"),
    maxStatementsPerRun: Math.max(...runs.map((r) => r.batches)),
    rowsRead: sum("rowsRead"),
    rowsWritten: sum("rowsWritten"),
    wallMs: Math.round(totalMs),
    slowestRunMs: Math.round(Math.max(...runs.map((r) => r.wallMs))),
  };
}

async function bundleSize() {
  const out = `${STATE}/bundle`;
  await wrangler(["deploy", "--dry-run", "--outdir", out]);
  const code = readFileSync(`${out}/index.js`);
  return { bytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

function machine() {
  const version = (pkg: string) =>
    (
      JSON.parse(readFileSync(fileURLToPath(import.meta.resolve(`${pkg}/package.json`)), "utf8")) as {
        version: string;
      }
    ).version;
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrangler: version("wrangler"),
    workerd: version("workerd"),
  };
}

async function main() {
  const startedAt = new Date().toISOString();
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true });

  process.stderr.write("Preparing the database ...\n");
  await d1(["migrations", "apply"]);
  await runSqlFile(
    "seed",
    [
      seedSql(ORG.small, SIZES.small),
      seedSql(ORG.medium, SIZES.medium),
      seedSql(ORG.large, SIZES.large),
      seedSql(ORG.revoke, REVOKE_POOL),
      noiseSql(),
    ].join("\n"),
  );

  process.stderr.write("Starting wrangler dev ...\n");
  await ensurePortFree();
  const dev = spawn(
    process.execPath,
    [
      WRANGLER,
      "dev",
      "-c",
      "bench/wrangler.toml",
      "--persist-to",
      STATE,
      "--ip",
      HOST,
      "--port",
      String(PORT),
      "--var",
      `JWT_SECRET:${SECRET}`,
      "--log-level",
      "warn",
      "--show-interactive-dev-session=false",
    ],
    {
      detached: true,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    },
  );
  children.push(dev);
  await waitUntilUp(dev);

  const token = async (org: string, role = "ORG_ADMIN") =>
    `Bearer ${await sign({ sub: "bench", org_id: org, role, exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET, "HS256")}`;
  const auth = async (org: string) => ({ Authorization: await token(org) });
  const lastPage = Math.ceil(SIZES.large / 100);
  let email = 0;
  let revokeNext = 1;

  process.stderr.write(
    `Load: ${CONNECTIONS} connections, ${WARMUP} s warm-up, ${DURATION} s measured each in ${ROUNDS} rounds\n`,
  );
  const results: LoadResult[] = [];
  const listPage1 = async (org: string): Promise<Target> => ({
    method: "GET",
    path: "/api/v1/invitations?page=1&limit=20",
    headers: await auth(org),
  });
  results.push(
    ...(await compare([
      ["baseline: constant JSON", { method: "GET", path: "/__bench/constant" }],
      [
        "baseline: raw D1 list page 1 (100k)",
        { method: "GET", path: `/__bench/raw/list?org=${ORG.large}&page=1&limit=20` },
      ],
      ["list page 1, limit 20 (1k)", await listPage1(ORG.small)],
      ["list page 1, limit 20 (10k)", await listPage1(ORG.medium)],
      ["list page 1, limit 20 (100k)", await listPage1(ORG.large)],
      [
        "list page 1, limit 20 (100k), rate limiter off",
        {
          ...(await listPage1(ORG.large)),
          headers: { ...(await auth(ORG.large)), "x-bench-no-rate-limit": "1" },
        },
      ],
    ])),
  );
  results.push(
    ...(await compare([
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
    ])),
  );
  results.push(
    ...(await compare([
      [
        "baseline: raw D1 insert",
        {
          method: "POST",
          path: "/__bench/raw/create",
          headers: { "Content-Type": "application/json" },
          body: () => JSON.stringify({ org: ORG.rawCreate, email: `raw${email++}@example.com` }),
        },
      ],
      [
        "create (fresh emails)",
        {
          method: "POST",
          path: "/api/v1/invitations",
          headers: { ...(await auth(ORG.create)), "Content-Type": "application/json" },
          body: () => JSON.stringify({ email: `new${email++}@example.com`, role: "OPERATOR" }),
        },
      ],
      [
        "create (fresh emails), rate limiter off",
        {
          method: "POST",
          path: "/api/v1/invitations",
          headers: {
            ...(await auth(ORG.create)),
            "Content-Type": "application/json",
            "x-bench-no-rate-limit": "1",
          },
          body: () => JSON.stringify({ email: `new${email++}@example.com`, role: "OPERATOR" }),
        },
      ],
      [
        "create with an Idempotency-Key",
        {
          method: "POST",
          path: "/api/v1/invitations",
          headers: { ...(await auth(ORG.create)), "Content-Type": "application/json" },
          body: () => JSON.stringify({ email: `new${email++}@example.com`, role: "OPERATOR" }),
          // A fresh key per request: the first use of a key, the cost every keyed create pays.
          fresh: () => ({ "Idempotency-Key": crypto.randomUUID() }),
        },
      ],
      [
        `bulk create, ${BULK_ITEMS} per request`,
        {
          method: "POST",
          path: "/api/v1/invitations/bulk",
          headers: { ...(await auth(ORG.create)), "Content-Type": "application/json" },
          body: () =>
            JSON.stringify({
              invitations: Array.from({ length: BULK_ITEMS }, () => ({
                email: `bulk${email++}@example.com`,
              })),
            }),
        },
      ],
    ])),
  );
  results.push(
    ...(await compare([
      [
        "revoke",
        {
          method: "DELETE",
          path: () =>
            `/api/v1/invitations/${ORG.revoke.slice(0, 24)}${String(revokeNext++).padStart(12, "0")}`,
          headers: await auth(ORG.revoke),
        },
      ],
    ])),
  );
  if (revokeNext > REVOKE_POOL) throw new Error("The revoke pool ran out: raise REVOKE_POOL");

  if (ONLY) {
    stopAll();
    console.log(results.map((r) => `${r.scenario}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms`).join("\n"));
    return;
  }
  process.stderr.write("Cron sweep ...\n");
  const sweeps = [
    await sweepBacklog("10k", ORG.sweep10k, 10_000),
    await sweepBacklog("100k", ORG.sweep100k, 100_000),
  ];

  stopAll();
  process.stderr.write("Bundle ...\n");
  const bundle = await bundleSize();

  const by = (name: string) => {
    const found = results.find((r) => r.scenario === name);
    if (!found) throw new Error(`no scenario ${name}`);
    return found;
  };
  const list1k = by("list page 1, limit 20 (1k)");
  const list100k = by("list page 1, limit 20 (100k)");
  const rawList = by("baseline: raw D1 list page 1 (100k)");
  const create = by("create (fresh emails)");
  const rawInsert = by("baseline: raw D1 insert");
  const perRow = (sweep: (typeof sweeps)[number] | undefined) =>
    sweep ? sweep.rowsRead / Math.max(sweep.expired, 1) : Number.NaN;
  const non2xx = results.reduce((n, r) => n + r.non2xx + r.errors, 0);
  const listRatio = ratio(list100k, rawList);
  const createRatio = ratio(create, rawInsert);
  const listLimiterCost = ratio(list100k, by("list page 1, limit 20 (100k), rate limiter off"));
  const createLimiterCost = ratio(create, by("create (fresh emails), rate limiter off"));
  const keyedCost = ratio(by("create with an Idempotency-Key"), create);
  // Invitations written per second: a bulk request writes BULK_ITEMS of them.
  const bulk = by(`bulk create, ${BULK_ITEMS} per request`);
  const bulkGain = ratio({ ...bulk, roundRps: bulk.roundRps.map((rps) => rps * BULK_ITEMS) }, create);
  const range = (r: { min: number; max: number }) => `rounds ${r.min.toFixed(2)}-${r.max.toFixed(2)}`;
  const goals = [
    {
      figure: `list page 1 (100k) req/s vs raw-D1 baseline, median of rounds (${range(listRatio)})`,
      goal: ">= 0.9x",
      value: listRatio.median,
      met: listRatio.median >= 0.9,
    },
    {
      figure: `create req/s vs raw-D1 insert baseline, median of rounds (${range(createRatio)})`,
      goal: ">= 0.9x",
      value: createRatio.median,
      met: createRatio.median >= 0.9,
    },
    {
      figure: "list page 1 rows_read at 100k",
      goal: "<= limit + 10 (30)",
      value: list100k.rowsRead ?? Number.NaN,
      met: (list100k.rowsRead ?? Number.POSITIVE_INFINITY) <= 30,
    },
    {
      figure: "list page 1 p50 at 100k vs 1k",
      goal: "<= 1.2x",
      value: list100k.p50 / Math.max(list1k.p50, 1),
      met: list100k.p50 / Math.max(list1k.p50, 1) <= 1.2,
    },
    {
      figure: "sweep of a 100k backlog: rows left; rows read per row expired, 100k vs 10k",
      goal: "0 left; <= 1.1x",
      value: perRow(sweeps[1]) / perRow(sweeps[0]),
      met: sweeps[1]?.leftPending === 0 && perRow(sweeps[1]) / perRow(sweeps[0]) <= 1.1,
    },
    { figure: "non-2xx and errors under load", goal: "0", value: non2xx, met: non2xx === 0 },
    // What the local rate limiter (a Durable Object call per request) costs; no goal of its own.
    {
      figure: `list page 1 (100k) req/s, rate limiter on vs off, median of rounds (${range(listLimiterCost)})`,
      goal: "none",
      value: listLimiterCost.median,
      met: undefined,
    },
    {
      figure: `create req/s, rate limiter on vs off, median of rounds (${range(createLimiterCost)})`,
      goal: "none",
      value: createLimiterCost.median,
      met: undefined,
    },
    {
      figure: `create req/s, with an Idempotency-Key vs without, median of rounds (${range(keyedCost)})`,
      goal: "none",
      value: keyedCost.median,
      met: undefined,
    },
    {
      figure: `invitations/s, bulk (${BULK_ITEMS} per request) vs single creates, median of rounds (${range(bulkGain)})`,
      goal: "none",
      value: bulkGain.median,
      met: undefined,
    },
  ];

  const report = {
    startedAt,
    machine: machine(),
    settings: { connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION },
    results,
    sweeps,
    bundle,
    goals,
  };
  const fmt = (n: number | null, digits = 0) => (n === null || Number.isNaN(n) ? "n/a" : n.toFixed(digits));
  const md = [
    `# Benchmark results`,
    "",
    `${startedAt}. ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB, ${report.machine.os};`,
    `Node ${report.machine.node}, Wrangler ${report.machine.wrangler}, workerd ${report.machine.workerd}.`,
    `${CONNECTIONS} connections, ${WARMUP} s warm-up, ${DURATION} s per scenario in ${ROUNDS} round-robin rounds, loopback, local D1. Reproduce: \`npm run bench\`.`,
    "",
    "| scenario | req/s | p50 ms | p99 ms | requests | non-2xx | errors | rows_read/req |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.requests} | ${r.non2xx} | ${r.errors} | ${fmt(r.rowsRead, 1)} |`,
    ),
    "",
    "| sweep backlog | runs | expired | left pending | statements (max per run) | rows read | rows written | wall ms (slowest run) |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...sweeps.map(
      (s) =>
        `| ${s.backlog} | ${s.runs} | ${s.expired} | ${s.leftPending} | ${s.statements} (${s.maxStatementsPerRun}) | ${s.rowsRead} | ${s.rowsWritten} | ${s.wallMs} (${s.slowestRunMs}) |`,
    ),
    "",
    `Bundle (\`wrangler deploy --dry-run\`): ${fmt(bundle.bytes / 1024, 1)} KiB, ${fmt(bundle.gzipBytes / 1024, 1)} KiB gzipped.`,
    "",
    "| goal | target | measured | met |",
    "|---|---|---:|---|",
    ...goals.map(
      (g) =>
        `| ${g.figure} | ${g.goal} | ${fmt(g.value, 2)} | ${g.met === undefined ? "n/a" : g.met ? "yes" : "no"} |`,
    ),
    "",
  ].join("\n");

  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync("bench/results/latest.md", md);
  console.log(md);
}

main().catch((error) => {
  stopAll();
  console.error(error);
  process.exit(1);
});
