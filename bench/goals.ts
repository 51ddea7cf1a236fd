/**
 * The figures `npm run bench` holds the app to, and those it only reports side by side, from its
 * scenarios' results (bench/run.ts) and the sweeps.
 */
import type { SweepResult } from "./database.ts";
import { type LoadResult, type Ratio, ratio } from "./load.ts";
import type { Goal } from "./report.ts";

/** Items per bulk create request: the most one may hold. */
export const BULK_ITEMS = 100;

/** The scenarios the goals are computed from. */
export const SCENARIO = {
  rawList: "baseline: raw D1 list page 1 (100k)",
  list1k: "list page 1, limit 20 (1k)",
  list100k: "list page 1, limit 20 (100k)",
  list100kNoLimiter: "list page 1, limit 20 (100k), rate limiter off",
  rawInsert: "baseline: raw D1 insert",
  create: "create (fresh emails)",
  createNoLimiter: "create (fresh emails), rate limiter off",
  keyedCreate: "create with an Idempotency-Key",
  bulk: `bulk create, ${BULK_ITEMS} per request`,
  peerList1k: "peer: Better Auth list-invitations (1k)",
  peerInvite: "peer: Better Auth invite-member",
};

/** The figures the bench holds the app to, and those it only reports side by side. */
export function goals(results: LoadResult[], sweeps: SweepResult[]): Goal[] {
  const by = (name: string) => {
    const found = results.find((r) => r.scenario === name);
    if (!found) throw new Error(`no scenario ${name}`);
    return found;
  };
  const list1k = by(SCENARIO.list1k);
  const list100k = by(SCENARIO.list100k);
  const create = by(SCENARIO.create);
  const bulk = by(SCENARIO.bulk);
  /** A req/s ratio's median, with the range of its rounds; held to `atLeast` when given. */
  const ratioGoal = (figure: string, r: Ratio, atLeast?: number): Goal => ({
    figure: `${figure}, median of rounds (rounds ${r.min.toFixed(2)}-${r.max.toFixed(2)})`,
    goal: atLeast === undefined ? "none" : `>= ${atLeast}x`,
    value: r.median,
    met: atLeast === undefined ? undefined : r.median >= atLeast,
  });
  const perRow = (sweep: SweepResult | undefined) =>
    sweep ? sweep.rowsRead / Math.max(sweep.expired, 1) : Number.NaN;
  const sweepGrowth = perRow(sweeps[1]) / perRow(sweeps[0]);
  const p50Growth = list100k.p50 / Math.max(list1k.p50, 1);
  const non2xx = results.reduce((n, r) => n + r.non2xx + r.errors, 0);
  return [
    ratioGoal("list page 1 (100k) req/s vs raw-D1 baseline", ratio(list100k, by(SCENARIO.rawList)), 0.9),
    ratioGoal("create req/s vs raw-D1 insert baseline", ratio(create, by(SCENARIO.rawInsert)), 0.9),
    {
      figure: "list page 1 rows_read at 100k",
      goal: "<= limit + 10 (30)",
      value: list100k.rowsRead ?? Number.NaN,
      met: (list100k.rowsRead ?? Number.POSITIVE_INFINITY) <= 30,
    },
    { figure: "list page 1 p50 at 100k vs 1k", goal: "<= 1.2x", value: p50Growth, met: p50Growth <= 1.2 },
    {
      figure: "sweep of a 100k backlog: rows left; rows read per row expired, 100k vs 10k",
      goal: "0 left; <= 1.1x",
      value: sweepGrowth,
      met: sweeps[1]?.leftPending === 0 && sweepGrowth <= 1.1,
    },
    { figure: "non-2xx and errors under load", goal: "0", value: non2xx, met: non2xx === 0 },
    // What the local rate limiter (a Durable Object call per request) costs; no goal of its own.
    ratioGoal(
      "list page 1 (100k) req/s, rate limiter on vs off",
      ratio(list100k, by(SCENARIO.list100kNoLimiter)),
    ),
    ratioGoal("create req/s, rate limiter on vs off", ratio(create, by(SCENARIO.createNoLimiter))),
    // The peer, measured in the same rounds: its req/s against ours, and the rows each reads.
    ratioGoal(
      "peer list-invitations (1k) req/s vs our list page 1 (1k)",
      ratio(by(SCENARIO.peerList1k), list1k),
    ),
    ratioGoal("peer invite-member req/s vs our create", ratio(by(SCENARIO.peerInvite), create)),
    {
      figure: "rows read per request: peer list-invitations (1k) / ours (1k)",
      goal: "none",
      value: (by(SCENARIO.peerList1k).rowsRead ?? Number.NaN) / (list1k.rowsRead ?? Number.NaN),
      met: undefined,
    },
    ratioGoal("create req/s, with an Idempotency-Key vs without", ratio(by(SCENARIO.keyedCreate), create)),
    // Invitations written per second: a bulk request writes BULK_ITEMS of them.
    ratioGoal(
      `invitations/s, bulk (${BULK_ITEMS} per request) vs single creates`,
      ratio({ ...bulk, roundRps: bulk.roundRps.map((rps) => rps * BULK_ITEMS) }, create),
    ),
  ];
}
