import type { D1Migration } from "cloudflare:test";

declare global {
  /** An email as it reached the EMAIL binding's double. */
  type SentEmail = {
    from: string | { email: string; name: string };
    to: string;
    subject: string;
    text: string;
    html: string;
    messageId: string;
    at: number;
  };

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
      /** A producer for the email queue the Worker consumes (the suite's INVITATION_EMAILS is not consumed). */
      TEST_CONSUMED_EMAILS: Queue;
      /** What reached the EMAIL binding's double, and failures to inject (test/email-double.js). */
      TEST_OUTBOX: {
        sent(to?: string): Promise<SentEmail[]>;
        failNext(to: string, times?: number, code?: string, message?: string): Promise<void>;
      };
    }
  }
}
