/**
 * The node project's Worker: one `wrangler dev` on a free port with a database of its own (the
 * migrations applied), for every test/node file. Its origin and token secret are provided to the
 * tests (`inject("worker")`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { localD1, startDev } from "../../scripts/wrangler-dev.ts";

export type NodeWorker = { base: string; jwtSecret: string };

declare module "vitest" {
  export interface ProvidedContext {
    worker: NodeWorker;
  }
}

export default async function setup(project: TestProject) {
  const state = mkdtempSync(path.join(tmpdir(), "invitations-node-tests-"));
  const jwtSecret = "node-tests-secret-not-for-production-0123456789";
  await localD1(state).migrate();
  const dev = await startDev({
    persistTo: state,
    vars: { JWT_SECRET: jwtSecret },
    readyPath: "/openapi.json",
  });
  project.provide("worker", { base: dev.base, jwtSecret });
  return async () => {
    await dev.stop();
    rmSync(state, { recursive: true, force: true });
  };
}
