import { defineConfig } from "drizzle-kit";

/** drizzle-kit writes SQL migrations into migrations/; only Wrangler applies them. */
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
