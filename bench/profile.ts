/**
 * `npm run bench:profile`: where the Worker's CPU goes under load. The bench Worker (unminified, so
 * the profile names our functions) on the bench's database (`npm run bench` leaves it in
 * .wrangler/bench; run that first), list page 1 at 100k and create driven as the bench drives
 * them, a CPU profile of each taken through Wrangler's inspector (the DevTools protocol; the
 * inspector wants an `Origin` of its own machine). Writes .wrangler/profile/<scenario>.cpuprofile
 * (open in Chrome's DevTools or VS Code) and prints each function's share of the samples, by its
 * own time and with what it calls.
 *
 * PROFILE_SECONDS (default 10, at most 60) per scenario; PROFILE_ONLY=list or create.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";
import { auth, startBenchWorker } from "./bench-worker.ts";
import { ORG, STATE } from "./database.ts";

const OUT = ".wrangler/profile";
const SECONDS = Math.min(Math.max(Number(process.env.PROFILE_SECONDS ?? 10) || 10, 1), 60);

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: ProfileNode[]; samples: number[] };

/** A DevTools protocol session on the Worker: `call` sends a command and waits for its answer. */
async function devtools(inspector: string) {
  const targets = (await (await fetch(`${inspector}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("the inspector lists no Worker");
  // Node's WebSocket takes headers (undici); the DOM type does not list them.
  const ws = new WebSocket(url, { headers: { Origin: "http://localhost" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error("the inspector refused the connection")));
  });
  let last = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = ++last;
      waiting.set(id, resolve as (result: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => ws.close() };
}

/** Each function's share of the samples: by its own time, and with what it calls. */
function summary(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const name = (node: ProfileNode) =>
    `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").at(-1)}:${node.callFrame.lineNumber + 1}`;
  const own = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const sample of profile.samples) {
    const node = byId.get(sample);
    if (!node) continue;
    own.set(name(node), (own.get(name(node)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const key = name(byId.get(id) as ProfileNode);
      if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
      seen.add(key);
    }
  }
  const lines = (counts: Map<string, number>) =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, n]) => `${((100 * n) / profile.samples.length).toFixed(1).padStart(6)}%  ${key}`);
  return [
    `${profile.samples.length} samples. Own time:`,
    ...lines(own),
    "With what it calls:",
    ...lines(inclusive),
  ].join("\n");
}

async function main() {
  if (!existsSync(STATE)) throw new Error(`No ${STATE}: run npm run bench first, which seeds it`);
  mkdirSync(OUT, { recursive: true });
  const dev = await startBenchWorker(STATE, { args: ["--no-minify"] });
  const session = await devtools(dev.inspector);
  try {
    await session.call("Profiler.enable");
    await session.call("Profiler.setSamplingInterval", { interval: 100 });
    let n = 0;
    const scenarios: Record<string, autocannon.Request> = {
      list: { method: "GET", path: "/api/v1/invitations?page=1&limit=20", headers: await auth(ORG.large) },
      create: {
        method: "POST",
        path: "/api/v1/invitations",
        headers: { ...(await auth(ORG.create)), "Content-Type": "application/json" },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ email: `profile-${Date.now()}-${n++}@example.com`, role: "OPERATOR" }),
        }),
      },
    };
    for (const [scenario, request] of Object.entries(scenarios)) {
      if (process.env.PROFILE_ONLY && process.env.PROFILE_ONLY !== scenario) continue;
      await autocannon({ url: dev.base, connections: 10, duration: 2, requests: [request] });
      await session.call("Profiler.start");
      const load = await autocannon({
        url: dev.base,
        connections: 10,
        duration: SECONDS,
        requests: [request],
      });
      const { profile } = await session.call<{ profile: Profile }>("Profiler.stop");
      writeFileSync(`${OUT}/${scenario}.cpuprofile`, JSON.stringify(profile));
      console.log(`\n## ${scenario}: ${load.requests.average} req/s while profiled, ${load.non2xx} non-2xx`);
      console.log(summary(profile));
    }
  } finally {
    session.close();
    await dev.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
