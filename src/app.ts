import type { Hono, Schema } from "hono";
import { bodyLimit } from "hono/body-limit";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { mountDocs } from "./docs/docs";
import { registerEventWebhook } from "./events/events";
import { publishAfterWrites } from "./events/publisher";
import { invitationsRouter } from "./invitations/invitations.index";
import { corsFromConfig } from "./lib/cors";
import { logRequestCost } from "./lib/cost-log";
import { createRouter } from "./lib/create-router";
import { d1Session } from "./lib/d1-session";
import { ApiError, methodNotAllowedError, notFound, onError } from "./lib/errors";
import { invitationPages } from "./pages/invitation-page.index";

/** Request bodies over this size are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 16 * 1024;

/** A bulk create's limit: 100 items of addresses up to 254 characters. */
export const MAX_BULK_BODY_BYTES = 64 * 1024;

const BULK_PATH = /^\/api\/v1\/invitations\/bulk\/?$/;

/** Builds the application: middleware order, error rendering, the API and its documentation. */
export function createApp() {
  const app = createRouter();

  // First, so that it sees the final answer: a 404 on a path some route has, for another method,
  // becomes 405 with `Allow` (computed from the routes registered below). Unknown paths stay 404.
  app.use(methodNotAllowed({ app, onMethodNotAllowed: methodNotAllowedError }));
  app.use(requestId());
  app.use(logRequestCost);
  app.use(secureHeaders());
  app.use("/api/*", corsFromConfig);
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError("PAYLOAD_TOO_LARGE");
      },
    });
  const limitBody = limit(MAX_BODY_BYTES);
  const limitBulkBody = limit(MAX_BULK_BODY_BYTES);
  // Not on GET and HEAD, which have no body to read: given a chunked one, bodyLimit would rebuild
  // the request with it, which the runtime refuses for those methods (a 500).
  app.use("/api/*", (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    return (BULK_PATH.test(c.req.path) ? limitBulkBody : limitBody)(c, next);
  });

  app.use("/api/*", d1Session);
  app.use("/api/*", publishAfterWrites);
  // The returned router's type carries every route: it is AppType, for typed clients.
  const routes = app.route("/api/v1", invitationsRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A JWT: HS256 signed with JWT_SECRET, or RS256/ES256 signed by a key of the JWKS at JWT_JWKS_URL (chosen by `kid`). Required claims for an organization's operations: `sub` (user id), `org_id` (organization UUID), `role` (ORG_ADMIN | OPERATOR | VIEWER), `exp`. For accepting an invitation: `sub`, `email` and `exp` (no organization; `email_verified`, when present, must be true). `nbf` and `iat` are honoured when present (with JWT_CLOCK_SKEW_SECONDS of leeway, 30 by default, as for `exp`); `iss` and `aud` must match JWT_ISSUER / JWT_AUDIENCE when those are set.",
  });
  registerEventWebhook(app.openAPIRegistry);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    // Relative: the origin that serves this document, wherever the Worker is deployed.
    servers: [{ url: "/", description: "This deployment (the origin serving this document)." }],
    tags: [
      {
        name: "Invitations",
        description: "Invite by email with a role; list, get, change, resend, revoke; preview.",
      },
      {
        name: "Invitee",
        description:
          "The invitee's side: accept or decline by link, and the inbox of invitations sent to the token's address.",
      },
      {
        name: "Events",
        description: "Lifecycle events the Worker POSTs to WEBHOOK_URL, signed (Standard Webhooks).",
      },
    ],
    info: {
      title: "Invitations API",
      version: "1.0.0",
      description: [
        "Organization invitation management: invite people by email with a role, list, search, resend and revoke invitations; the invitee previews and accepts through a secret link; invitations expire on their own.",
        "",
        "Conventions:",
        "- Every error, including unknown paths (404 NOT_FOUND) and a method a known path does not take (405 METHOD_NOT_ALLOWED, with `Allow`), has the envelope `{ code, details, error, message, statusCode }`, with `statusCode` equal to the HTTP status.",
        "- Checks run in this order: body size (413), token (401), rate limit (429), role (403), then input (400). A caller whose role may not do something learns nothing about valid input.",
        "- Rate limits (Workers Rate Limiting): per organization and user, writes (create, resend, revoke, accept) tighter than reads (list, get); the tokenless preview per client IP. Over the limit: 429 RATE_LIMITED with `Retry-After`.",
        "- An invitation expires at the millisecond `now >= expiresAt`. From then on it reads as EXPIRED, no longer blocks a new invitation to the same email, and cannot be revoked, before the cron sweep has stored that state.",
        "- `page` and `limit` are plain decimal integers (`1.5`, `1e1`, `0x10` are refused, never clamped). Unknown query parameters are ignored; unknown body fields are refused.",
        "- Ids are UUIDs, accepted in any letter case. A trailing slash on a path is accepted.",
      ].join("\n"),
    },
  });
  mountDocs(app);
  app.route("/", invitationPages);
  app.get("/", (c) => c.redirect("/docs"));

  app.notFound(notFound);
  app.onError(onError);
  return routes;
}

/**
 * An input part (header, query, ...) whose fields are all optional becomes optional itself. The
 * router types each part a route validates as a required argument even when it can be empty:
 * every typed call would spell out `header: {}` (all routes read the optional bookmark) and a
 * plain list `query: {}`.
 */
type OptionalWhenEmpty<Input> = {
  [Part in keyof Input as Record<never, never> extends Input[Part] ? never : Part]: Input[Part];
} & {
  [Part in keyof Input as Record<never, never> extends Input[Part] ? Part : never]?: Input[Part];
};

type OptionalEmptyInputs<S extends Schema> = {
  [Path in keyof S]: {
    [Method in keyof S[Path]]: S[Path][Method] extends { input: infer Input }
      ? Omit<S[Path][Method], "input"> & { input: OptionalWhenEmpty<Input> }
      : S[Path][Method];
  };
};

type Routes = ReturnType<typeof createApp>;

/**
 * The API's routes as types, for `hc<AppType>()` from `hono/client`: calls, inputs and answers
 * typed from the same zod schemas the Worker validates with (see the README's typed client).
 */
export type AppType =
  Routes extends Hono<infer E, infer S, infer BasePath>
    ? Hono<E, OptionalEmptyInputs<S> extends infer T extends Schema ? T : never, BasePath>
    : never;
