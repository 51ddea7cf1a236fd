/**
 * wrangler.toml's deployed environments, read as Wrangler reads them: each has every binding and
 * var the local configuration has (an environment inherits none), and staging and production
 * share no database, queue or rate-limit namespace.
 */

import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";

/** The part of Wrangler's resolved configuration read here (its own type does not resolve under Node's tsconfig). */
type Config = {
  name: string;
  d1_databases: { binding: string; database_name: string; database_id?: string; migrations_dir?: string }[];
  queues: {
    producers?: { binding: string; queue: string }[];
    consumers?: { queue: string; dead_letter_queue?: string }[];
  };
  ratelimits: { name: string; namespace_id: string }[];
  send_email: { name: string }[];
  vars: Record<string, unknown>;
  triggers: { crons?: string[] };
  assets?: { binding?: string };
};

const read = (env?: string): Config =>
  unstable_readConfig({ config: "wrangler.toml", env }, { hideWarnings: true }) as unknown as Config;

function resources(config: Config) {
  return {
    databases: config.d1_databases.map((db) => db.database_name),
    queues: [
      ...(config.queues.producers ?? []).map((queue) => queue.queue),
      ...(config.queues.consumers ?? []).flatMap((queue) =>
        [queue.queue, queue.dead_letter_queue ?? []].flat(),
      ),
    ],
    rateLimits: config.ratelimits.map((limit) => limit.namespace_id),
  };
}

describe("the staging and production environments", () => {
  const local = read();
  const bindingNames = (config: Config) => ({
    d1: config.d1_databases.map((db) => db.binding).sort(),
    queues: (config.queues.producers ?? []).map((queue) => queue.binding).sort(),
    consumers: (config.queues.consumers ?? []).length,
    ratelimits: config.ratelimits.map((limit) => limit.name).sort(),
    email: config.send_email.map((binding) => binding.name).sort(),
    vars: Object.keys(config.vars).sort(),
    crons: config.triggers.crons,
    assets: config.assets?.binding,
  });

  for (const env of ["staging", "production"]) {
    it(`${env} has every binding, var, consumer and the cron of the local configuration`, () => {
      const deployed = read(env);
      expect(deployed.name).toBe(`invitations-api-${env}`);
      expect(bindingNames(deployed)).toEqual(bindingNames(local));
      expect(deployed.d1_databases[0]?.database_id, "a database_id to fill in").toMatch(/^[0-9a-f-]{36}$/);
      expect(deployed.d1_databases[0]?.migrations_dir).toBe("migrations");
      // The email consumer tells a dead-letter batch by the queue name's suffix.
      expect(resources(deployed).queues.filter((queue) => queue.endsWith("-dlq")).length).toBeGreaterThan(0);
    });
  }

  it("staging and production share no database, queue or rate-limit namespace, with each other or locally", () => {
    const [l, s, p] = [local, read("staging"), read("production")].map(resources);
    for (const kind of ["databases", "queues", "rateLimits"] as const) {
      const all = [...new Set(l?.[kind])].concat([...new Set(s?.[kind])], [...new Set(p?.[kind])]);
      expect(new Set(all).size, kind).toBe(all.length);
    }
  });
});
