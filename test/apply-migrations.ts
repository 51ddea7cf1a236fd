import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Setup files run before every test file, outside per-file storage isolation; applying only
// what is not yet applied makes repeating this harmless.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
