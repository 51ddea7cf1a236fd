/**
 * A generated client, as another team would make one: openapi-typescript reads the document the
 * Worker serves (its default options), and a small openapi-fetch client (openapi-fetch/client.ts)
 * must type-check against those types, then create, list, get and revoke on the running Worker.
 * This file imports the client, so it is type-checked with it (openapi-fetch/tsconfig.json) once
 * the types exist, not by `npm run typecheck`, which runs before any Worker serves a document.
 */
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { memberToken, worker } from "./worker.ts";

const run = promisify(execFile);
const DIR = path.resolve("test/node/openapi-fetch");

beforeAll(async () => {
  mkdirSync(path.join(DIR, "generated"), { recursive: true });
  await run(path.resolve("node_modules/.bin/openapi-typescript"), [
    `${worker.base}/openapi.json`,
    "--output",
    path.join(DIR, "generated/schema.ts"),
  ]);
});

describe("an openapi-fetch client typed by openapi-typescript from the served document", () => {
  it("type-checks (TypeScript 7) with this test, and the types refuse a wrong role, path, status or error code", async () => {
    const tsc = path.resolve("node_modules/typescript7/bin/tsc");
    const result = await run(process.execPath, [tsc, "-p", path.join(DIR, "tsconfig.json")]).catch(
      (error: { stdout: string; code: number }) => error,
    );
    expect(result.stdout, "tsc's report").toBe("");
  });

  it("creates, lists, gets and revokes on the Worker", async () => {
    const { invitationsClient, isRetryable } = await import("./openapi-fetch/client.ts");
    const admin = await memberToken("ORG_ADMIN");
    const client = invitationsClient(worker.base, admin.token);

    const ada = await client.create("ada@example.com", "OPERATOR");
    expect(ada.status).toBe(201);
    expect(ada.data).toMatchObject({ email: "ada@example.com", role: "OPERATOR", status: "PENDING" });
    const grace = await client.create("grace@example.com");
    expect(grace.status).toBe(201);
    expect(grace.data?.role).toBe("VIEWER");

    const listed = await client.list();
    expect(listed.status).toBe(200);
    expect(listed.bookmark).toMatch(/^[0-9a-f]{8}-/);
    expect(listed.data?.data.map((invitation) => invitation.email)).toEqual([
      "grace@example.com",
      "ada@example.com",
    ]);
    expect(listed.data?.meta.total).toBe(2);

    const id = ada.data?.id ?? "";
    expect((await client.get(id)).data).toMatchObject({ id, status: "PENDING" });
    expect((await client.revoke(id)).status).toBe(200);
    expect((await client.get(id)).data).toMatchObject({ id, status: "REVOKED" });
    expect((await client.list({ status: ["PENDING"] })).data?.data.map((i) => i.email)).toEqual([
      "grace@example.com",
    ]);

    const again = await client.revoke(id);
    expect(again.status).toBe(400);
    expect(again.error).toMatchObject({ code: "BAD_REQUEST", statusCode: 400 });
    expect(isRetryable(again.error as NonNullable<typeof again.error>)).toBe(false);
    const unknown = await client.get(crypto.randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.error?.code).toBe("INVITATION_NOT_FOUND");
  });
});
