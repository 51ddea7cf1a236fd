/**
 * The bench's report: the machine it ran on, and every figure as a Markdown table and a JSON file
 * in bench/results/ (the Markdown printed too).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import type { SweepResult } from "./database.ts";
import { LOAD, type LoadResult } from "./load.ts";
import { type OperationCost, operationCostLines } from "./operation-cost.ts";
import { type Storage, storageLines } from "./storage.ts";

/** A figure the bench reports, with the goal it is held to (`met` undefined when it has none). */
export type Goal = { figure: string; goal: string; value: number; met: boolean | undefined };

export type Report = {
  startedAt: string;
  machine: ReturnType<typeof machine>;
  settings: { connections: number; warmupSeconds: number; durationSeconds: number };
  results: LoadResult[];
  sweeps: SweepResult[];
  storage: Storage;
  /** The list's rows read per kind of request at 1k and 100k, as Markdown lines. */
  listCosts: string[];
  operationCosts: OperationCost[];
  bundle: { bytes: number; gzipBytes: number };
  goals: Goal[];
};

export function machine() {
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

const fmt = (n: number | null, digits = 0) => (n === null || Number.isNaN(n) ? "n/a" : n.toFixed(digits));
/** A Markdown table: its header, the alignment row, a row per item. */
const table = <T>(header: string, align: string, rows: T[], row: (item: T) => (string | number)[]) => [
  header,
  align,
  ...rows.map((item) => `| ${row(item).join(" | ")} |`),
  "",
];

function markdown({
  startedAt,
  machine: m,
  results,
  sweeps,
  storage,
  listCosts,
  operationCosts,
  bundle,
  goals,
}: Report): string {
  return [
    `# Benchmark results`,
    "",
    `${startedAt}. ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os};`,
    `Node ${m.node}, Wrangler ${m.wrangler}, workerd ${m.workerd}.`,
    `${LOAD.connections} connections, ${LOAD.warmup} s warm-up, ${LOAD.duration} s per scenario in ${LOAD.rounds} round-robin rounds, loopback, local D1. Reproduce: \`npm run bench\`.`,
    "",
    ...table(
      "| scenario | req/s | p50 ms | p99 ms | requests | non-2xx | errors | rows_read/req |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      results,
      (r) => [
        r.scenario,
        fmt(r.rps),
        fmt(r.p50),
        fmt(r.p99),
        r.requests,
        r.non2xx,
        r.errors,
        fmt(r.rowsRead, 1),
      ],
    ),
    ...table(
      "| sweep backlog | runs | expired | left pending | statements (max per run) | rows read | rows written | wall ms (slowest run) |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
      sweeps,
      (s) => [
        s.backlog,
        s.runs,
        s.expired,
        s.leftPending,
        `${s.statements} (${s.maxStatementsPerRun})`,
        s.rowsRead,
        s.rowsWritten,
        `${s.wallMs} (${s.slowestRunMs})`,
      ],
    ),
    ...storageLines(storage),
    ...listCosts,
    ...operationCostLines(operationCosts),
    `Bundle (\`wrangler deploy --dry-run\`): ${fmt(bundle.bytes / 1024, 1)} KiB, ${fmt(bundle.gzipBytes / 1024, 1)} KiB gzipped.`,
    "",
    ...table("| goal | target | measured | met |", "|---|---|---:|---|", goals, (g) => [
      g.figure,
      g.goal,
      fmt(g.value, 2),
      g.met === undefined ? "n/a" : g.met ? "yes" : "no",
    ]),
  ].join("\n");
}

/** Writes bench/results/latest.json and latest.md, and prints the Markdown. */
export function writeReport(report: Report) {
  const md = markdown(report);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync("bench/results/latest.md", md);
  console.log(md);
}
