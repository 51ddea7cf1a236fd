import { describe, expect, it } from "vitest";
import { api } from "./helpers";

type Operation = {
  security?: Record<string, string[]>[];
  responses: Record<
    string,
    { content?: Record<string, { schema: { $ref?: string } }>; headers?: Record<string, unknown> }
  >;
  requestBody?: { required?: boolean };
  parameters?: { in: string; name: string }[];
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { properties?: object }> };
};

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document with every route, the bearer scheme and the error schema", async () => {
    const res = await api("/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<Document>();
    expect(doc.openapi).toBe("3.1.0");

    expect(Object.keys(doc.paths).sort()).toEqual([
      "/api/v1/invitations",
      "/api/v1/invitations/accept",
      "/api/v1/invitations/bulk",
      "/api/v1/invitations/lookup",
      "/api/v1/invitations/{id}",
      "/api/v1/invitations/{id}/resend",
    ]);
    expect(Object.keys(doc.paths["/api/v1/invitations"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/api/v1/invitations/{id}"] ?? {}).sort()).toEqual(["delete", "get"]);
    expect(Object.keys(doc.paths["/api/v1/invitations/{id}/resend"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.paths["/api/v1/invitations/lookup"] ?? {})).toEqual(["get"]);
    expect(Object.keys(doc.paths["/api/v1/invitations/accept"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.paths["/api/v1/invitations/bulk"] ?? {})).toEqual(["post"]);

    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    expect(Object.keys(doc.components.schemas.Error?.properties ?? {}).sort()).toEqual([
      "code",
      "details",
      "error",
      "message",
      "statusCode",
    ]);
  });

  it("documents each operation's success and every error status it can give, with the Error schema", async () => {
    const doc = await (await api("/openapi.json")).json<Document>();
    const bearer = [{ bearerAuth: [] }];
    const expected: [string, string, string[], object[]][] = [
      ["/api/v1/invitations", "get", ["200", "400", "401", "403", "429", "500"], bearer],
      [
        "/api/v1/invitations",
        "post",
        ["201", "400", "401", "403", "409", "413", "422", "429", "500"],
        bearer,
      ],
      [
        "/api/v1/invitations/bulk",
        "post",
        ["200", "400", "401", "403", "409", "413", "422", "429", "500"],
        bearer,
      ],
      ["/api/v1/invitations/{id}", "get", ["200", "400", "401", "403", "404", "429", "500"], bearer],
      [
        "/api/v1/invitations/{id}",
        "delete",
        ["200", "400", "401", "403", "404", "409", "413", "422", "429", "500"],
        bearer,
      ],
      [
        "/api/v1/invitations/{id}/resend",
        "post",
        ["200", "400", "401", "403", "404", "409", "413", "422", "429", "500"],
        bearer,
      ],
      // The link's token is the credential: no bearer token.
      ["/api/v1/invitations/lookup", "get", ["200", "400", "404", "429", "500"], []],
      [
        "/api/v1/invitations/accept",
        "post",
        ["200", "400", "401", "403", "404", "409", "410", "413", "429", "500"],
        bearer,
      ],
    ];
    for (const [path, method, statuses, security] of expected) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      if (!operation) continue;
      expect(Object.keys(operation.responses).sort(), `${method} ${path}`).toEqual(statuses);
      expect(operation.security).toEqual(security);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        expect(operation.responses[status]?.content?.["application/json"]?.schema).toEqual({
          $ref: "#/components/schemas/Error",
        });
      }
    }
    expect(doc.paths["/api/v1/invitations"]?.post?.requestBody?.required).toBe(true);
    expect(doc.paths["/api/v1/invitations/accept"]?.post?.requestBody?.required).toBe(true);
    // Every 429 (rate limit, resend cooldown) says when to come back; create and resend say not
    // to cache the link.
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods ?? {})) {
        const tooMany = (operation as { responses?: Record<string, { headers?: object }> }).responses?.[
          "429"
        ];
        if (path.startsWith("/api/"))
          expect(Object.keys(tooMany?.headers ?? {}), `${method} ${path}`).toEqual(["Retry-After"]);
      }
    }
    // The four writes that take an Idempotency-Key say so, and say how a replay is marked.
    for (const [path, method] of [
      ["/api/v1/invitations", "post"],
      ["/api/v1/invitations/bulk", "post"],
      ["/api/v1/invitations/{id}", "delete"],
      ["/api/v1/invitations/{id}/resend", "post"],
    ] as const) {
      const operation = doc.paths[path]?.[method];
      expect(
        operation?.parameters?.map((p) => [p.in, p.name]),
        `${method} ${path}`,
      ).toContainEqual(["header", "idempotency-key"]);
      const success = Object.entries(operation?.responses ?? {}).find(([status]) => status.startsWith("2"));
      expect(Object.keys(success?.[1].headers ?? {})).toContain("Idempotent-Replayed");
    }
    const resend = doc.paths["/api/v1/invitations/{id}/resend"]?.post?.responses;
    expect(Object.keys(resend?.["200"]?.headers ?? {})).toContain("Cache-Control");
    expect(Object.keys(doc.paths["/api/v1/invitations"]?.post?.responses["201"]?.headers ?? {})).toContain(
      "Cache-Control",
    );
  });
});

describe("GET /docs", () => {
  it("serves an interactive documentation page over /openapi.json", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("SwaggerUIBundle");
    expect(html).toContain("/openapi.json");
  });
});
