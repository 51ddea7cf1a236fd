/**
 * `npm run dev`, safe to repeat on every start:
 * 1. give a fresh clone its local secrets: copy .dev.vars.example to .dev.vars when missing; to an
 *    existing .dev.vars, add the example's variables it lacks (a secret added since it was made,
 *    such as LINK_SECRET), never changing the ones it has;
 * 2. apply any new migrations to the local D1 database, showing one table of what is applied
 *    (Wrangler's apply prints the whole list again after each migration, so its output is shown
 *    only when it fails);
 * 3. run `wrangler dev --test-scheduled` (extra arguments are passed on), showing its output but
 *    printing the bindings table once: Wrangler prints it again, unchanged, once the local server
 *    is up. A table that did change (the configuration was edited) is shown.
 */
import { execFile, spawn } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseEnv, promisify } from "node:util";
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

// Colours survive the pipes below; no terminal prompt is waited for (stdin is not a terminal).
const env = { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? "1" };
const run = promisify(execFile);
const d1 = (...args: string[]) =>
  run(process.execPath, [WRANGLER, "d1", "migrations", ...args, "DB", "--local"], { env });

const pending = (await d1("list")).stdout;
const table = pending.slice(pending.search(/Migrations to be applied|No migrations to apply/));
console.log(table.trimEnd());
if (!/No migrations to apply/.test(pending)) {
  try {
    await d1("apply");
    console.log("Applied.\n");
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    process.stdout.write(stdout);
    process.stderr.write(stderr);
    process.exit(1);
  }
}

const dev = spawn(process.execPath, [WRANGLER, "dev", "--test-scheduled", ...process.argv.slice(2)], {
  env,
  stdio: ["inherit", "pipe", "inherit"],
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

const shown = new Set<string>();
let block: string[] | undefined;
// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes are what is stripped
const plain = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, "");
for await (const line of createInterface({ input: dev.stdout })) {
  if (plain(line).startsWith("Your Worker has access to the following bindings")) block = [];
  if (!block) {
    console.log(line);
    continue;
  }
  block.push(line);
  if (plain(line).trim() !== "") continue;
  const text = block.join("\n");
  if (!shown.has(plain(text))) console.log(text);
  shown.add(plain(text));
  block = undefined;
}
