import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    /** Types `exports` from "cloudflare:workers" as the Worker's own entry module. */
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
    /** Bindings only the test runtime has (see vitest.config.ts). */
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_README: string;
      TEST_TYPED_CLIENT_EXAMPLE: string;
      /** Runs per property (test/properties.test.ts); empty means the default. */
      FUZZ_RUNS: string;
      TEST_RATE_LIMIT_READS: RateLimit;
      /** A producer for the queue the Worker consumes (the suite's INVITATION_EVENTS is not consumed). */
      TEST_CONSUMED_EVENTS: Queue;
      TEST_RATE_LIMIT_WRITES: RateLimit;
    }
  }
}
