/**
 * Running Wrangler from scripts, in one place: `wrangler dev` on a free port of 127.0.0.1 as a child
 * process that is stopped with the script (on exit, Ctrl-C, SIGTERM or an error), and one-shot
 * commands such as D1's against a local database. Used by `npm run bench`, `npm run soak` and the
 * end-to-end tests. Never a fixed port: several people may run them on one machine at once.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";

// createRequire, not import.meta.resolve: Vitest's module runner (test/node/) has no such function.
export const WRANGLER = path.join(
  path.dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin/wrangler.js",
);

/** No telemetry, no account lookups: these runs are local. */
const ENV = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a Wrangler command to completion and returns its output; rejects with its error output on
 * failure. Asynchronous on purpose: a synchronous call blocks the event loop for the seconds
 * Wrangler takes, and fetch then reuses a keep-alive connection that wrangler dev closed meanwhile
 * (a POST on it fails with "other side closed" and is not retried).
 */
export async function wrangler(args: string[]): Promise<string> {
  const running = promisify(execFile)(process.execPath, [WRANGLER, ...args], {
    encoding: "utf8",
    env: ENV,
    maxBuffer: 256 * 1024 * 1024,
  });
  // Nothing to answer: with no terminal, Wrangler proceeds without asking.
  running.child.stdin?.end();
  return (await running).stdout;
}

export type LocalD1 = ReturnType<typeof localD1>;

/** Wrangler's D1 commands against the local database (binding DB) kept in `persistTo`. */
export function localD1(persistTo: string, config = "wrangler.toml") {
  const d1 = (args: string[]) =>
    wrangler(["d1", ...args, "DB", "--local", "--persist-to", persistTo, "-c", config]);
  const query = async (sql: string): Promise<Record<string, unknown>[][]> => {
    const output = JSON.parse(await d1(["execute", "--json", "--command", sql])) as { results: unknown[] }[];
    return output.map((statement) => statement.results as Record<string, unknown>[]);
  };
  return {
    /** Applies the migrations this database has not had yet. */
    migrate: () => d1(["migrations", "apply"]),
    /** Runs a file of SQL statements. */
    executeFile: (file: string) => d1(["execute", "--file", file, "--yes"]),
    /** The rows of each statement of `sql` (statements separated by `;`). */
    query,
    /**
     * `query` beside a running `wrangler dev`, whose writes may hold the database for a moment
     * (SQLITE_BUSY): tried again, up to ten times.
     */
    async queryWhileRunning(sql: string): Promise<Record<string, unknown>[][]> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await query(sql);
        } catch (error) {
          if (attempt >= 10 || !String((error as { stderr?: unknown }).stderr).includes("SQLITE_BUSY"))
            throw error;
          await sleep(500);
        }
      }
    },
  };
}

/** A port nothing listens on now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

// ---------------------------------------------------------------------------------------------
// wrangler dev runs in a process group of its own, so stopping the group stops workerd too.

const running = new Set<ChildProcess>();

/** Signals a child's process group; false once nothing is left in it (signal 0 only probes). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  if (!child.pid) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

/** Stops a wrangler dev and everything it started; SIGKILL for whatever outlives 10 s. */
async function stopChild(child: ChildProcess) {
  if (!running.delete(child)) return;
  signalGroup(child, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!signalGroup(child, 0)) return;
    await sleep(100);
  }
  signalGroup(child, "SIGKILL");
}

/** Stops every wrangler dev this process started. */
export async function stopAll() {
  await Promise.all([...running].map(stopChild));
}

let stopsWithTheScript = false;
/** Once, when the first wrangler dev starts: whatever way the script ends, its servers end too. */
function stopWithTheScript() {
  if (stopsWithTheScript) return;
  stopsWithTheScript = true;
  process.on("exit", () => {
    for (const child of running) signalGroup(child, "SIGTERM");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping wrangler dev\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/**
 * What every local run gets unless told otherwise: its own origin as PUBLIC_URL (so invitation
 * links, emailed ones too, point at this server), and a LINK_SECRET (a fresh clone has no
 * .dev.vars, where `npm run dev` keeps one).
 */
function localDefaults(port: number): Record<string, string> {
  return {
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LINK_SECRET: "local-runs-link-secret-not-for-production-0123456789",
  };
}

export type DevOptions = {
  /** Wrangler configuration of the Worker to run. */
  config?: string;
  /** Where the local D1 database (and other local state) lives. */
  persistTo: string;
  /** `--var` values, which win over the configuration's [vars] (and over PUBLIC_URL and LINK_SECRET, set by default). */
  vars?: Record<string, string>;
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** Asked until `ready` accepts its status (any status by default): the Worker is up. */
  readyPath?: string;
  ready?: (status: number) => boolean;
  /** A file for Wrangler's output; without one, its standard output is dropped and its errors shown. */
  log?: string;
  /** More arguments for `wrangler dev` (e.g. `--no-minify`). */
  args?: string[];
};

export type DevServer = {
  /** http://127.0.0.1:<port> */
  base: string;
  /** http://127.0.0.1:<port> of Wrangler's inspector (DevTools protocol), on loopback too. */
  inspector: string;
  /** Stops wrangler dev and waits until all it started is gone (its database is then free). */
  stop: () => Promise<void>;
};

/** Starts `wrangler dev` on a free port of 127.0.0.1 and waits until the Worker answers. */
export async function startDev({
  config = "wrangler.toml",
  persistTo,
  vars = {},
  logLevel,
  readyPath = "/",
  ready = () => true,
  log,
  args: more = [],
}: DevOptions): Promise<DevServer> {
  stopWithTheScript();
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    WRANGLER,
    "dev",
    "-c",
    config,
    "--persist-to",
    persistTo,
    ...Object.entries({ ...localDefaults(port), ...vars }).flatMap(([name, value]) => [
      "--var",
      `${name}:${value}`,
    ]),
    ...(logLevel ? ["--log-level", logLevel] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    ...more,
  ];
  const logFile = log === undefined ? undefined : openSync(log, "a");
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", logFile ?? "ignore", logFile ?? "inherit"],
    env: ENV,
  });
  if (logFile !== undefined) closeSync(logFile);
  running.add(child);
  const dev: DevServer = {
    base: `http://127.0.0.1:${port}`,
    inspector: `http://127.0.0.1:${inspectorPort}`,
    stop: () => stopChild(child),
  };

  const seeLog = log === undefined ? "" : `; see ${log}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      throw new Error(
        `wrangler dev exited (${child.exitCode ?? child.signalCode}) before it was ready${seeLog}`,
      );
    }
    try {
      const res = await fetch(`${dev.base}${readyPath}`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (ready(res.status)) return dev;
    } catch {}
    await sleep(250);
  }
  await dev.stop();
  throw new Error(`wrangler dev did not answer within 90 s${seeLog}`);
}
