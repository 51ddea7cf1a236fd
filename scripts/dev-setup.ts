/**
 * First step of `npm run dev`, safe to repeat on every start:
 * 1. give a fresh clone its local secrets: copy .dev.vars.example to .dev.vars when missing
 *    (an existing .dev.vars is never overwritten);
 * 2. apply any new migrations to the local D1 database. Wrangler asks for confirmation when it
 *    has a terminal; with stdin detached it proceeds, which is what a local database wants.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { WRANGLER } from "./wrangler-dev.ts";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local JWT secret).");
}

// Synchronous, with Wrangler's output shown: the first step of `npm run dev`, nothing else runs yet.
execFileSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local"], {
  stdio: ["ignore", "inherit", "inherit"],
});
