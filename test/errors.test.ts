import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  api,
  caller,
  createInvitation,
  expectError,
  fetchWith,
  overrideD1,
  restoreAfterEach,
  storedRows,
} from "./helpers";

restoreAfterEach();

describe("error envelope", () => {
  it("answers an unknown route with 404 NOT_FOUND", async () => {
    for (const path of ["/nope", "/api/v1", "/api/v1/invitation", "/api/v2/invitations"]) {
      await expectError(await api(path), 404, "NOT_FOUND", "Not Found", "Route not found");
    }
  });

  it("answers a method a known path does not take with 405 METHOD_NOT_ALLOWED and Allow, changing nothing", async () => {
    const admin = await caller();
    const { id } = await createInvitation(admin, "kept@example.com");
    const cases: [string, string, string][] = [
      ["PUT", "/api/v1/invitations", "GET, HEAD, POST"],
      ["DELETE", "/api/v1/invitations", "GET, HEAD, POST"],
      ["PUT", `/api/v1/invitations/${id}`, "GET, HEAD, DELETE, PATCH"],
      ["POST", `/api/v1/invitations/${id}`, "GET, HEAD, DELETE, PATCH"],
      ["GET", `/api/v1/invitations/${id}/resend`, "POST"],
      ["POST", "/openapi.json", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await api(path, { method, token: admin.token, ...(method === "GET" ? {} : { json: {} }) });
      expect(res.headers.get("Allow")?.split(", ").sort(), `${method} ${path}`).toEqual(
        allow.split(", ").sort(),
      );
      await expectError(
        res,
        405,
        "METHOD_NOT_ALLOWED",
        "Method Not Allowed",
        "This path does not take this method; `Allow` lists the ones it takes",
      );
    }
    expect((await storedRows(admin.org)).map((row) => [row.email, row.status])).toEqual([
      ["kept@example.com", "PENDING"],
    ]);
  });

  it("keeps 404 NOT_FOUND, without Allow, for a path no route has, whatever the method", async () => {
    const admin = await caller();
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await api("/api/v1/invitation", { method, token: admin.token });
      expect(res.headers.get("Allow")).toBeNull();
      await expectError(res, 404, "NOT_FOUND", "Not Found", "Route not found");
    }
  });

  it("ignores Transfer-Encoding on a GET: no body to limit, so no 500 (found by the property tests)", async () => {
    const admin = await caller();
    const chunked = { "Transfer-Encoding": "chunked" };
    expect((await api("/api/v1/invitations", { token: admin.token, headers: chunked })).status).toBe(200);
    await expectError(
      await api(`/api/v1/invitations/lookup?token=${"A".repeat(43)}`, { headers: chunked }),
      404,
      "INVITATION_NOT_FOUND",
      "Not Found",
      "Invitation not found",
    );
  });

  it("answers a D1 failure with a bare 500, logged with the request id, and writes nothing", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const admin = await caller();
    // The real database, except that every batch gets a last statement that fails: D1 must roll
    // back the statements before it, and the caller must learn nothing about why.
    const failLastStatement = <T extends D1Database | D1DatabaseSession>(db: T): T =>
      overrideD1(db, {
        batch: (target, statements) =>
          target.batch([...statements, target.prepare("SELECT * FROM no_such_table")]),
        withSession: (target, constraint) => failLastStatement(target.withSession(constraint)),
      });
    const failingDb = failLastStatement(env.DB);

    const res = await fetchWith({ DB: failingDb }, "/api/v1/invitations", {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: "x@example.com" }),
    });
    const requestId = res.headers.get("X-Request-Id");
    const text = await res.text();
    expect(text).not.toMatch(/SQLITE|D1_ERROR|no_such_table|INSERT|at /);
    await expectError(
      new Response(text, { status: res.status, headers: res.headers }),
      500,
      "INTERNAL_SERVER_ERROR",
      "Internal Server Error",
      "Internal server error",
    );

    expect(errors).toHaveBeenCalledTimes(1);
    const logged = JSON.parse(String(errors.mock.calls[0]?.[0]));
    expect(logged).toMatchObject({
      level: "error",
      requestId,
      method: "POST",
      path: "/api/v1/invitations",
      error: { message: expect.stringContaining("no such table") },
    });
    expect(requestId).toBeTruthy();
    // The insert ran inside the failed batch and was rolled back with it.
    expect(await storedRows(admin.org)).toEqual([]);
    // The same request against the healthy database succeeds: the failure was the injected one.
    expect((await createInvitation(admin, "x@example.com")).email).toBe("x@example.com");
  });

  it("answers a misconfigured secret with a bare 500 rather than accepting tokens", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const admin = await caller();
    const res = await fetchWith({ JWT_SECRET: "short" }, "/api/v1/invitations", {
      headers: { Authorization: `Bearer ${admin.token}` },
    });
    await expectError(res, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error", "Internal server error");
  });

  it("sends a request id and security headers on every response", async () => {
    const res = await api("/nope");
    expect(res.headers.get("X-Request-Id")).toMatch(/.+/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });
});
