import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** The HS256 key the tests sign with; the Worker under test is given the same one. */
export const TEST_JWT_SECRET = "test-secret-for-vitest-only-0123456789abcdef";

/** The secret invitation links are derived with in the Worker under test. */
export const TEST_LINK_SECRET = "test-link-secret-for-vitest-only-0123456789";

/** The webhook signing secret the Worker under test is given (Standard Webhooks form). */
export const TEST_WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1mb3Itdml0ZXN0LW9ubHk=";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url)));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // Pinned here so that a developer's .dev.vars (which Wrangler also reads) cannot change
          // what the tests see.
          bindings: {
            JWT_SECRET: TEST_JWT_SECRET,
            CURSOR_SECRET: "test-cursor-secret-for-vitest-only-0123456789",
            JWT_ISSUER: "",
            JWT_AUDIENCE: "",
            JWT_JWKS_URL: "",
            JWT_JWKS_CACHE_SECONDS: "600",
            JWT_CLOCK_SKEW_SECONDS: "30",
            CORS_ORIGINS: "",
            REDIRECT_ORIGINS: "https://app.example.com,http://localhost:3000",
            MAX_PENDING_INVITATIONS: "1000",
            INVITATION_TTL_SECONDS: "604800",
            LINK_SECRET: TEST_LINK_SECRET,
            PUBLIC_URL: "https://invitations.example.com",
            INVITE_URL_BASE: "https://app.example.com/invitations/accept",
            EMAIL_FROM: "invitations@example.com",
            EMAIL_FROM_NAME: "Example Invitations",
            // test/email-delivery.test.ts: refused sends are retried at once.
            EMAIL_RETRY_DELAY_SECONDS: "0",
            RESEND_COOLDOWN_SECONDS: "60",
            // Where the queue consumer delivers in test/webhook-delivery.test.ts, which intercepts
            // the Worker's fetch to it; nothing else in the suite reaches the consumer.
            WEBHOOK_URL: "https://hooks.example.com/invitations",
            WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
            WEBHOOK_RETRY_DELAY_SECONDS: "0",
            TEST_MIGRATIONS: migrations,
            // test/typed-client.test.ts checks that the README shows the example as it compiles.
            TEST_README: readFileSync(new URL("./README.md", import.meta.url), "utf8"),
            TEST_TYPED_CLIENT_EXAMPLE: readFileSync(
              new URL("./test/typed-client.example.ts", import.meta.url),
              "utf8",
            ),
            // Runs per property in test/properties.test.ts; FUZZ_RUNS=20000 npm test for more.
            FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
          },
          // Every test file publishes events, email jobs and background jobs to queues nobody
          // consumes: a local consumer still dispatching when a file's storage is torn down stalls
          // the run. The consumed queues (wrangler.toml's, with fast settings here) are reached only
          // through the TEST_CONSUMED_ producers, by the files that test their consumers and wait
          // for every message they send to settle.
          queueProducers: {
            INVITATION_EVENTS: { queueName: "test-invitation-events-unconsumed" },
            INVITATION_EMAILS: { queueName: "test-invitation-emails-unconsumed" },
            INVITATION_JOBS: { queueName: "test-invitation-jobs-unconsumed" },
            TEST_CONSUMED_EVENTS: { queueName: "invitation-events" },
            TEST_CONSUMED_EMAILS: { queueName: "invitation-emails" },
          },
          queueConsumers: {
            "invitation-events": {
              maxBatchSize: 10,
              maxBatchTimeout: 0.05,
              maxRetries: 2,
              deadLetterQueue: "invitation-events-dlq",
            },
            "invitation-emails": {
              maxBatchSize: 10,
              maxBatchTimeout: 0.05,
              maxRetries: 8,
              deadLetterQueue: "invitation-emails-dlq",
            },
            "invitation-emails-dlq": { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: 2 },
          },
          // The EMAIL binding is a double of the platform's (test/email-double.js): the Worker
          // calls it as it calls env.EMAIL.send, and tests read what reached it (TEST_OUTBOX) or
          // make it refuse. Listing no send_email binding drops wrangler.toml's simulated one,
          // which would otherwise win over the service binding.
          email: { send_email: [] },
          serviceBindings: {
            EMAIL: { name: "email-double", entrypoint: "EmailBinding" },
            TEST_OUTBOX: { name: "email-double", entrypoint: "Outbox" },
          },
          workers: [
            {
              name: "email-double",
              modules: true,
              scriptPath: "./test/email-double.js",
              compatibilityDate: "2026-10-23",
            },
          ],
          // wrangler.toml's limits would throttle a test file's many requests from one caller, so
          // the suite runs with limits it never reaches, and test/rate-limit.test.ts swaps in the
          // tight TEST_ ones (the same local rate limiter, small numbers).
          ratelimits: {
            RATE_LIMIT_READS: { namespace_id: "1101", simple: { limit: 1_000_000, period: 60 } },
            RATE_LIMIT_WRITES: { namespace_id: "1102", simple: { limit: 1_000_000, period: 60 } },
            TEST_RATE_LIMIT_READS: { namespace_id: "9101", simple: { limit: 5, period: 60 } },
            TEST_RATE_LIMIT_WRITES: { namespace_id: "9102", simple: { limit: 2, period: 60 } },
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
    },
  };
});
