/**
 * First step of `npm run dev`, safe to repeat on every start:
 * 1. give a fresh clone its local secrets: copy .dev.vars.example to .dev.vars when missing; to an
 *    existing .dev.vars, add the example's variables it lacks (a secret added since it was made,
 *    such as LINK_SECRET), never changing the ones it has;
 * 2. apply any new migrations to the local D1 database. Wrangler asks for confirmation when it
 *    has a terminal; with stdin detached it proceeds, which is what a local database wants.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { WRANGLER } from "./wrangler-dev.ts";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local secrets).");
} else {
  const have = parseEnv(readFileSync(".dev.vars", "utf8"));
  const example = parseEnv(readFileSync(".dev.vars.example", "utf8"));
  const missing = Object.entries(example).filter(([name]) => !(name in have));
  if (missing.length > 0) {
    appendFileSync(".dev.vars", `\n${missing.map(([name, value]) => `${name}=${value}`).join("\n")}\n`);
    console.log(`Added ${missing.map(([name]) => name).join(", ")} to .dev.vars from .dev.vars.example.`);
  }
}

// Synchronous, with Wrangler's output shown: the first step of `npm run dev`, nothing else runs yet.
execFileSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local"], {
  stdio: ["ignore", "inherit", "inherit"],
});
