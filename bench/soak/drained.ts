/**
 * After the traffic, with the Worker still running: does its background work keep up? The outbox
 * must be published (no event past the publisher's position) and every invitation email settled
 * (none QUEUED) within a minute of the last request, read with SQL through `wrangler d1 execute`
 * beside the running Worker.
 */
import type { LocalD1 } from "../../scripts/wrangler-dev.ts";
import type { Invariant } from "./invariants.ts";

/** How long the background work may take after the traffic ends. */
export const DRAIN_LIMIT_MS = 60_000;

export async function drainedInvariant(d1: LocalD1): Promise<Invariant> {
  const started = performance.now();
  let waiting = Number.NaN;
  let queued = Number.NaN;
  for (;;) {
    const [events, emails] = await d1.queryWhileRunning(
      [
        "SELECT count(*) AS n FROM invitation_events WHERE seq > (SELECT position FROM leases WHERE name = 'invitation_events')",
        "SELECT count(*) AS n FROM invitations WHERE delivery_status = 'QUEUED'",
      ].join("; "),
    );
    waiting = Number(events?.[0]?.n ?? Number.NaN);
    queued = Number(emails?.[0]?.n ?? Number.NaN);
    if ((waiting === 0 && queued === 0) || performance.now() - started > DRAIN_LIMIT_MS) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    name: "every event published and every email settled within a minute of the last request",
    held: waiting === 0 && queued === 0,
    numbers: `${waiting} events waiting and ${queued} emails QUEUED after ${seconds.toFixed(0)} s`,
    examples: [],
  };
}
