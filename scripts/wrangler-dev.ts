/**
 * Running Wrangler from scripts: `wrangler dev` as a child process that is stopped with the
 * script (on exit, Ctrl-C or SIGTERM), and one-shot commands. Used by the end-to-end tests.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const WRANGLER = fileURLToPath(
  new URL("bin/wrangler.js", import.meta.resolve("wrangler/package.json")),
);

/** No telemetry, no account lookups: these runs are local. */
const ENV = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

const children: ChildProcess[] = [];

function stop(child: ChildProcess) {
  if (child.pid && child.exitCode === null) {
    try {
      // Detached: the signal reaches workerd too, not only Wrangler.
      process.kill(-child.pid, "SIGTERM");
    } catch {
      child.kill("SIGTERM");
    }
  }
}

function stopAll() {
  for (const child of children) stop(child);
}
process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

/** Runs a Wrangler command to completion and returns its output; throws with it on failure. */
export function wrangler(args: string[]): string {
  return execFileSync(process.execPath, [WRANGLER, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: ENV,
    maxBuffer: 64 * 1024 * 1024,
  });
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

export type DevServer = { base: string; stop: () => void };

/**
 * Starts `wrangler dev` on 127.0.0.1 with `args` (config, state directory, vars), waits until
 * `readyPath` answers (any status), and returns its base URL. Its output goes to stderr when
 * `verbose`, so a failing run shows why.
 */
export async function startDev(
  args: string[],
  { readyPath = "/", verbose = false }: { readyPath?: string; verbose?: boolean } = {},
): Promise<DevServer> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      "dev",
      ...args,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
    ],
    { detached: true, stdio: ["ignore", verbose ? "inherit" : "ignore", "inherit"], env: ENV },
  );
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`wrangler dev exited (${child.exitCode}) before it was ready`);
    try {
      await fetch(`${base}${readyPath}`, { signal: AbortSignal.timeout(2000) });
      return { base, stop: () => stop(child) };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  stop(child);
  throw new Error("wrangler dev did not answer within 90 s");
}
