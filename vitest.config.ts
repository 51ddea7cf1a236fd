import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** The HS256 key the tests sign with; the Worker under test is given the same one. */
export const TEST_JWT_SECRET = "test-secret-for-vitest-only-0123456789abcdef";

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
            JWT_ISSUER: "",
            JWT_AUDIENCE: "",
            INVITATION_TTL_SECONDS: "604800",
            INVITE_URL_BASE: "https://app.example.com/invitations/accept",
            RESEND_COOLDOWN_SECONDS: "60",
            TEST_MIGRATIONS: migrations,
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
