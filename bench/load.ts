/**
 * The bench's load: scenarios driven by autocannon at fixed connections, compared side by side in
 * round-robin rounds, each with a few untimed requests that read D1's rows_read per request.
 *
 * Bounded: BENCH_DURATION (seconds per scenario, default 10, at most 60), BENCH_ROUNDS (slices it
 * is cut into, default 5), BENCH_WARMUP (default 2), BENCH_CONNECTIONS (default 10, at most 64).
 * BENCH_ONLY (a regular expression) runs only the scenarios it matches.
 */
import autocannon from "autocannon";

const bounded = (name: string, fallback: number, max: number) =>
  Math.min(Math.max(Number(process.env[name] ?? fallback) || fallback, 1), max);
export const LOAD = {
  duration: bounded("BENCH_DURATION", 10, 60),
  warmup: bounded("BENCH_WARMUP", 2, 10),
  connections: bounded("BENCH_CONNECTIONS", 10, 64),
  rounds: bounded("BENCH_ROUNDS", 5, 20),
  only: process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined,
};

export type LoadResult = {
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

export type Target = {
  method: "GET" | "POST" | "DELETE";
  path: string | (() => string);
  headers?: Record<string, string>;
  body?: () => string;
  /** Headers made anew for each request. */
  fresh?: () => Record<string, string>;
};

const pathOf = (target: Target) => (typeof target.path === "string" ? target.path : target.path());

function cannon(base: string, target: Target, duration: number) {
  return autocannon({
    url: base,
    connections: LOAD.connections,
    duration,
    requests: [
      {
        method: target.method,
        path: typeof target.path === "string" ? target.path : "/",
        headers: target.headers,
        setupRequest: (request) => ({
          ...request,
          path: pathOf(target),
          headers: { ...request.headers, ...target.fresh?.() },
          body: target.body?.(),
        }),
      },
    ],
  });
}

/** D1 rows read per request, from the bench Worker's header, over a few sequential requests. */
async function rowsReadPerRequest(base: string, target: Target, samples = 5): Promise<number | null> {
  let total = 0;
  for (let i = 0; i < samples; i++) {
    const res = await fetch(`${base}${pathOf(target)}`, {
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

/** One line for a scenario's outcome. */
export const describe = (r: LoadResult) =>
  `${r.scenario}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, ${r.non2xx} non-2xx, ${r.rowsRead ?? "n/a"} rows read/req`;

/**
 * Scenarios that are compared with each other run round-robin: LOAD.rounds slices each, the order
 * rotating every round, so that drift on a noisy machine falls on all of them alike. A scenario's
 * req/s is its requests over its measured time; its p50 the median of its rounds' p50s; its p99
 * the worst of its rounds' p99s.
 */
export async function compare(base: string, scenarios: [string, Target][]): Promise<LoadResult[]> {
  const chosen = scenarios.filter(([name]) => !LOAD.only || LOAD.only.test(name));
  const slice = Math.max(LOAD.duration / LOAD.rounds, 1);
  const rounds = new Map<string, autocannon.Result[]>(chosen.map(([name]) => [name, []]));
  for (const [name, target] of chosen) {
    process.stderr.write(`  warm-up: ${name}\n`);
    await cannon(base, target, LOAD.warmup);
  }
  for (let round = 0; round < LOAD.rounds; round++) {
    for (let i = 0; i < chosen.length; i++) {
      const [name, target] = chosen[(i + round) % chosen.length] as [string, Target];
      rounds.get(name)?.push(await cannon(base, target, slice));
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
      rowsRead: await rowsReadPerRequest(base, target),
    };
    process.stderr.write(`  ${describe(result)}\n`);
    results.push(result);
  }
  return results;
}

export type Ratio = { median: number; min: number; max: number };

/** app / baseline req/s, round by round: the median and the range. */
export function ratio(app: LoadResult, baseline: LoadResult): Ratio {
  const ratios = app.roundRps.map((rps, i) => rps / (baseline.roundRps[i] ?? Number.NaN));
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}
