import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { CRON_SUBREQUESTS, runCron, SUBREQUEST_LIMIT } from "../src/jobs/cron";
import { withFields } from "../src/lib/log";
import { newOrgId, overrideD1, recordingQueue, restoreAfterEach, seedPending, storedEvents } from "./helpers";

restoreAfterEach();

const DAY = 86_400_000;

/** The real D1 binding, counting every statement it runs (a batch counts once, as D1 bills it). */
function countingD1() {
  const counter = { queries: 0 };
  const counted = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (property === "bind") return (...values: unknown[]) => counted(target.bind(...values));
        if (["all", "run", "raw", "first"].includes(String(property))) {
          return (...args: unknown[]) => {
            counter.queries += 1;
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
  const db = overrideD1(env.DB, {
    prepare: (target, sql) => counted(target.prepare(sql)),
    batch: (target, statements) => {
      counter.queries += 1;
      return target.batch(statements);
    },
  });
  return { db, counter };
}

describe("the cron run's subrequest budget", () => {
  it(`stays within the free plan's ${SUBREQUEST_LIMIT} subrequests with every step at its bound`, async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const now = Date.now();
    const org = newOrgId();
    // More than each step may do in one run, with one row per statement: 16 invitations due for
    // the sweep's 15 UPDATEs; over 800 unpublished events for 8 publishing rounds of 100; 6 events
    // past their retention for the outbox prune's 5 DELETEs; 4 expired keys for the key prune's 3.
    await seedPending(org, 16, now - 2 * DAY, now - DAY);
    await seedPending(org, 900, now, now + DAY);
    const old = (await storedEvents(org)).slice(0, 6).map((event) => event.seq);
    await env.DB.prepare(
      "UPDATE invitation_events SET published_at = ? WHERE seq IN (SELECT value FROM json_each(?))",
    )
      .bind(now - 30 * DAY, JSON.stringify(old))
      .run();
    await env.DB.prepare(
      `INSERT INTO idempotency_keys (organization_id, key_hash, fingerprint, created_at, expires_at)
       SELECT ?1, 'expired-' || value, 'f', ?2, ?2 FROM json_each('[1,2,3,4]')`,
    )
      .bind(org, now - 2 * DAY)
      .run();

    const { db, counter } = countingD1();
    const { queue, batches } = recordingQueue();
    await runCron(createDb(db), queue, now, withFields({ cron: "test" }), { batchSize: 1 });

    // 15 + 8 x 3 + 5 + 3: every bound reached, nothing beyond.
    expect({ queries: counter.queries, sends: batches.length }).toEqual({
      queries: 15 + 8 * 2 + 5 + 3,
      sends: 8,
    });
    expect(counter.queries + batches.length).toBe(CRON_SUBREQUESTS);
    expect(CRON_SUBREQUESTS).toBeLessThanOrEqual(SUBREQUEST_LIMIT);
  });
});
