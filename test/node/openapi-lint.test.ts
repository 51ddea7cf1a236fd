/**
 * The served document through the linters people run on it, as pinned devDependencies and with
 * the repository's rule files (redocly.yaml, .spectral.yaml: each rule switched off says why).
 * Any error or warning fails the test, with the linter's own report.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedDocument } from "./worker.ts";

const run = promisify(execFile);
const bin = (name: string) => path.resolve("node_modules/.bin", name);

let dir: string;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "invitations-openapi-"));
  file = path.join(dir, "openapi.json");
  writeFileSync(file, JSON.stringify(await servedDocument(), null, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a linter that exits non-zero when it finds problems: its output either way. */
async function lint(command: string, args: string[]): Promise<string> {
  try {
    return (await run(command, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stdout } = error as { stdout?: string };
    if (stdout) return stdout;
    throw error;
  }
}

describe("the served OpenAPI document", () => {
  it("passes Redocly CLI's recommended rules with no error and no warning", async () => {
    const report = JSON.parse(
      await lint(bin("redocly"), ["lint", file, "--config", "redocly.yaml", "--format", "json"]),
    ) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] };
    expect(
      report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`),
      "Redocly's problems",
    ).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("passes Spectral's spectral:oas ruleset with no error and no warning", async () => {
    const output = await lint(bin("spectral"), [
      "lint",
      file,
      "--ruleset",
      ".spectral.yaml",
      "--format",
      "json",
      "--fail-severity",
      "warn",
      "--quiet",
    ]);
    const problems = JSON.parse(output || "[]") as { code: string; message: string; path: string[] }[];
    expect(
      problems.map((problem) => `${problem.code}: ${problem.message} (${problem.path.join(".")})`),
      "Spectral's problems",
    ).toEqual([]);
  });
});
