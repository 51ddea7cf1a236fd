/**
 * `npm run bench:pipeline`: how long the events of a 100,000-invitation sweep take to reach the
 * queue, on the real app (src/index.ts under the main wrangler.toml) and its local Queues.
 *
 * 1. A fresh local D1 database in .wrangler/pipeline, migrated, seeded with PIPELINE_SIZE (100,000
 *    by default, at most 200,000) PENDING invitations of one organization, all past due, their
 *    invitation.created events counted as published.
 * 2. `wrangler dev` on a free port, its output in .wrangler/pipeline/wrangler-dev.log.
 * 3. One cron run, triggered by hand (/cdn-cgi/local/scheduled): it sweeps its share, publishes
 *    its share and hands the rest to the jobs consumer, which goes on invocation after invocation.
 * 4. Every few seconds, with SQL through `wrangler d1 execute` beside the running Worker: how many
 *    invitations are still due, how many events are past the publisher's position. Done when
 *    both are 0: the minutes from the cron run to then are the figure.
 *
 * Every event reaching the queue here is also consumed by the Worker's webhook consumer (no
 * WEBHOOK_URL: acknowledged), on the same two cores, as deployed it would be on its own.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { type DevServer, localD1, startDev } from "../scripts/wrangler-dev.ts";
import { seedSql } from "./database.ts";

const STATE = ".wrangler/pipeline";
const DEV_LOG = `${STATE}/wrangler-dev.log`;
const ORG = "a0000009-0000-4000-8000-000000000000";
const SIZE = Math.min(
  Math.max(Math.floor(Number(process.env.PIPELINE_SIZE ?? 100_000)) || 100_000, 1),
  200_000,
);
/** Gives up after this long: the goal is 15 minutes. */
const LIMIT_MS = 30 * 60_000;
const d1 = localD1(STATE);
const DAY = 86_400_000;

type Progress = { seconds: number; due: number; waiting: number; events: number };

async function progress(started: number): Promise<Progress> {
  const [due, waiting, events] = await d1.queryWhileRunning(
    [
      `SELECT count(*) AS n FROM invitations WHERE status = 'PENDING' AND expires_at <= ${Date.now()}`,
      "SELECT count(*) AS n FROM invitation_events WHERE seq > (SELECT position FROM leases WHERE name = 'invitation_events')",
      "SELECT count(*) AS n FROM invitation_events",
    ].join("; "),
  );
  const n = (rows: Record<string, unknown>[] | undefined) => Number(rows?.[0]?.n ?? Number.NaN);
  return {
    seconds: (performance.now() - started) / 1000,
    due: n(due),
    waiting: n(waiting),
    events: n(events),
  };
}

let dev: DevServer | undefined;

async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true });
  process.stderr.write(`Migrating and seeding ${SIZE} due invitations in ${STATE} ...\n`);
  await d1.migrate();
  // The seed's own invitation.created events count as published: only the sweep's are measured.
  const published =
    "UPDATE leases SET position = (SELECT max(seq) FROM invitation_events) WHERE name = 'invitation_events';";
  writeFileSync(`${STATE}/seed.sql`, `${seedSql(ORG, SIZE, -DAY)}\n${published}`);
  await d1.executeFile(`${STATE}/seed.sql`);

  process.stderr.write(`Starting wrangler dev (output in ${DEV_LOG}) ...\n`);
  dev = await startDev({
    persistTo: STATE,
    vars: { JWT_SECRET: "pipeline-secret-not-for-production-0123456789" },
    logLevel: "warn",
    log: DEV_LOG,
    readyPath: "/openapi.json",
  });

  const started = performance.now();
  const cron = await fetch(`${dev.base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
  await cron.arrayBuffer();
  if (!cron.ok) throw new Error(`the cron run answered ${cron.status}`);
  process.stderr.write(
    `Cron run done after ${((performance.now() - started) / 1000).toFixed(1)} s; watching ...\n`,
  );

  const seen: Progress[] = [];
  let sweptAt: number | undefined;
  for (;;) {
    const now = await progress(started);
    seen.push(now);
    if (now.due === 0 && sweptAt === undefined) sweptAt = now.seconds;
    process.stderr.write(
      `  ${now.seconds.toFixed(0)} s: ${now.due} still due, ${now.waiting} of ${now.events} events waiting\n`,
    );
    if (now.due === 0 && now.waiting === 0) break;
    if (now.seconds * 1000 > LIMIT_MS) throw new Error("gave up after 30 minutes");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  const last = seen.at(-1) as Progress;
  console.log(
    [
      "",
      `Pipeline: ${SIZE} invitations due, one cron run, wrangler dev on ${new URL(dev.base).host}, local D1 and Queues`,
      `Swept (none due) within ${(sweptAt ?? last.seconds).toFixed(0)} s; every event (${last.events}) past the publisher's position within ${last.seconds.toFixed(0)} s = ${(last.seconds / 60).toFixed(1)} min (goal: 15 min)`,
      "(Each figure is when a poll first saw it; polls take a few seconds each.)",
    ].join("\n"),
  );
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => dev?.stop());
