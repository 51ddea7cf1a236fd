import { describe, expect, it } from "vitest";
import { ERRORS } from "../src/lib/errors";
import { api } from "./helpers";

type Operation = {
  security?: Record<string, string[]>[];
  responses: Record<
    string,
    { content?: Record<string, { schema: { $ref?: string } }>; headers?: Record<string, unknown> }
  >;
  requestBody?: { required?: boolean; content?: Record<string, { schema: { $ref?: string } }> };
  parameters?: { in: string; name: string }[];
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, unknown>;
    schemas: Record<
      string,
      { properties?: Record<string, { $ref?: string; enum?: string[] }>; required?: string[] }
    >;
  };
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
      "/api/v1/invitations/decline",
      "/api/v1/invitations/lookup",
      "/api/v1/invitations/{id}",
      "/api/v1/invitations/{id}/resend",
      "/api/v1/me/invitations",
      "/api/v1/me/invitations/{id}/accept",
      "/api/v1/me/invitations/{id}/decline",
    ]);
    expect(Object.keys(doc.paths["/api/v1/invitations"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/api/v1/invitations/{id}"] ?? {}).sort()).toEqual([
      "delete",
      "get",
      "patch",
    ]);
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
      ["/api/v1/invitations/decline", "post", ["200", "400", "404", "409", "410", "413", "429", "500"], []],
      ["/api/v1/me/invitations", "get", ["200", "400", "401", "403", "429", "500"], bearer],
      [
        "/api/v1/invitations/{id}",
        "patch",
        ["200", "400", "401", "403", "404", "409", "413", "429", "500"],
        bearer,
      ],
      [
        "/api/v1/me/invitations/{id}/accept",
        "post",
        ["200", "400", "401", "403", "404", "409", "410", "413", "429", "500"],
        bearer,
      ],
      [
        "/api/v1/me/invitations/{id}/decline",
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
    // The invitee's operations are named as people say them.
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
    // Resend's body is optional, and holds only `sendEmail`.
    const resendBody = doc.paths["/api/v1/invitations/{id}/resend"]?.post?.requestBody;
    expect(resendBody?.required).toBe(false);
    expect(resendBody?.content?.["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/ResendInvitationBody",
    });
    expect(Object.keys(resend?.["200"]?.headers ?? {})).toContain("Cache-Control");
    expect(Object.keys(doc.paths["/api/v1/invitations"]?.post?.responses["201"]?.headers ?? {})).toContain(
      "Cache-Control",
    );
  });
});

describe("the event contract in /openapi.json", () => {
  it("documents the webhook delivery: its signature headers and the InvitationEvent body, without any token", async () => {
    const doc = await (await api("/openapi.json")).json<{
      webhooks: Record<
        string,
        { post: Operation & { requestBody: { content: Record<string, { schema: object }> } } }
      >;
      components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
    }>();
    const delivery = doc.webhooks.invitationEvent?.post;
    expect(delivery?.requestBody.content["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/InvitationEvent",
    });
    expect(delivery?.parameters?.map((p) => [p.in, p.name])).toEqual([
      ["header", "webhook-id"],
      ["header", "webhook-timestamp"],
      ["header", "webhook-signature"],
    ]);
    const event = doc.components.schemas.InvitationEvent;
    expect(Object.keys(event?.properties ?? {}).sort()).toEqual([
      "id",
      "invitation",
      "occurredAt",
      "organizationId",
      "type",
    ]);
    expect(event?.properties.type?.enum).toEqual([
      "invitation.created",
      "invitation.resent",
      "invitation.revoked",
      "invitation.accepted",
      "invitation.expired",
      "invitation.declined",
      "invitation.updated",
      "invitation.delivery_failed",
    ]);
    expect(JSON.stringify(event)).not.toMatch(/token|inviteUrl/);
  });
});

describe("GET /docs", () => {
  it("serves Swagger UI over /openapi.json, loading every script and style from this Worker, none inline", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await res.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(sources.sort()).toEqual([
      "/docs/assets/favicon-32x32.png",
      "/docs/assets/swagger-ui-bundle.js",
      "/docs/assets/swagger-ui.css",
      "/docs/init.js",
    ]);
    // Every <script> has a src: nothing inline for the policy to allow.
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<script src="[^"]+"><\/script>/g)).toHaveLength(2);
    expect(res.headers.get("Content-Security-Policy")).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );

    const init = await api("/docs/init.js");
    expect(init.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    const script = await init.text();
    expect(script).toContain('url: "/openapi.json"');
    expect(script).toContain("validatorUrl: null");
  });

  it("serves the page's files from the installed swagger-ui-dist package, and nothing else of it", async () => {
    const expected: [string, RegExp, number][] = [
      ["swagger-ui-bundle.js", /^text\/javascript/, 1_000_000],
      ["swagger-ui.css", /^text\/css/, 100_000],
      ["favicon-32x32.png", /^image\/png$/, 100],
    ];
    for (const [file, type, atLeast] of expected) {
      const res = await api(`/docs/assets/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("Content-Type"), file).toMatch(type);
      expect((await res.arrayBuffer()).byteLength, file).toBeGreaterThan(atLeast);
    }
    expect(await (await api("/docs/assets/swagger-ui-bundle.js")).text()).toContain("SwaggerUIBundle");
    for (const file of ["index.html", "package.json", "swagger-initializer.js", "..%2Fpackage.json"]) {
      const res = await api(`/docs/assets/${file}`);
      expect(res.status, file).toBe(404);
      expect((await res.json<{ code: string }>()).code).toBe("NOT_FOUND");
    }
    // The package's own pages are not served at the root either.
    for (const path of ["/index.html", "/swagger-initializer.js", "/swagger-ui-bundle.js"]) {
      expect((await api(path)).status, path).toBe(404);
    }
  });
});

describe("the email in /openapi.json", () => {
  it("documents the Invitation's delivery, sendEmail on create, bulk items and resend, and its statuses", async () => {
    const doc = await (await api("/openapi.json")).json<Document>();
    const { schemas } = doc.components;
    expect(schemas.Invitation?.properties?.delivery).toEqual({
      $ref: "#/components/schemas/InvitationDelivery",
    });
    expect(schemas.Invitation?.required).toContain("delivery");
    expect(Object.keys(schemas.InvitationDelivery?.properties ?? {}).sort()).toEqual([
      "attempts",
      "lastAttemptAt",
      "lastError",
      "sentAt",
      "status",
    ]);
    expect(schemas.InvitationDelivery?.properties?.status?.enum).toEqual([
      "QUEUED",
      "SENT",
      "FAILED",
      "SKIPPED",
    ]);
    for (const body of ["CreateInvitationBody", "ResendInvitationBody"]) {
      expect(Object.keys(schemas[body]?.properties ?? {}), body).toContain("sendEmail");
      expect(schemas[body]?.required ?? [], body).not.toContain("sendEmail");
    }
    expect(Object.keys(schemas.ResendInvitationBody?.properties ?? {})).toEqual(["sendEmail"]);
  });
});

describe("operations and errors in /openapi.json", () => {
  it("names every operation with a unique operationId, and lists every code of ERRORS in Error.code", async () => {
    const doc = await (await api("/openapi.json")).json<Document & { webhooks: Document["paths"] }>();
    const ids = [doc.paths, doc.webhooks].flatMap((items) =>
      Object.entries(items).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => [
          `${method} ${path}`,
          (op as { operationId?: string }).operationId,
        ]),
      ),
    );
    expect(Object.fromEntries(ids)).toEqual({
      "get /api/v1/invitations": "listInvitations",
      "post /api/v1/invitations": "createInvitation",
      "post /api/v1/invitations/bulk": "bulkCreateInvitations",
      "get /api/v1/invitations/lookup": "previewInvitation",
      "post /api/v1/invitations/accept": "acceptInvitation",
      "get /api/v1/invitations/{id}": "getInvitation",
      "delete /api/v1/invitations/{id}": "revokeInvitation",
      "patch /api/v1/invitations/{id}": "updateInvitation",
      "post /api/v1/invitations/{id}/resend": "resendInvitation",
      "post /api/v1/invitations/decline": "declineInvitation",
      "get /api/v1/me/invitations": "listMyInvitations",
      "post /api/v1/me/invitations/{id}/accept": "acceptMyInvitation",
      "post /api/v1/me/invitations/{id}/decline": "declineMyInvitation",
      "post invitationEvent": "invitationEvent",
    });
    expect(doc.components.schemas.Error?.properties?.code?.enum).toEqual(Object.keys(ERRORS));
  });
});
