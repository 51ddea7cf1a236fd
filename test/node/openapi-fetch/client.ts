/**
 * A small client as another team would write it: openapi-fetch, typed by what openapi-typescript
 * generates from the served document (./generated/schema.ts, made by the test; not committed).
 * test/node/openapi-fetch.test.ts type-checks this file against those types and runs it.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.ts";

export type Invitation = components["schemas"]["Invitation"];
export type ApiErrorBody = components["schemas"]["Error"];

export function invitationsClient(baseUrl: string, token: string) {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  return {
    /** `role` and `sendEmail` may be left out: the generated body type says they are optional. */
    async create(email: string, role?: Invitation["role"]) {
      const { data, error, response } = await client.POST("/api/v1/invitations", {
        params: { header: { "idempotency-key": crypto.randomUUID() } },
        body: role ? { email, role, sendEmail: false } : { email, sendEmail: false },
      });
      return { data, error, status: response.status };
    },
    async list(query: { status?: Invitation["status"][]; limit?: number } = {}) {
      const { data, error, response } = await client.GET("/api/v1/invitations", { params: { query } });
      return { data, error, status: response.status, bookmark: response.headers.get("x-d1-bookmark") };
    },
    async get(id: string) {
      const { data, error, response } = await client.GET("/api/v1/invitations/{id}", {
        params: { path: { id } },
      });
      return { data, error, status: response.status };
    },
    async revoke(id: string) {
      const { data, error, response } = await client.DELETE("/api/v1/invitations/{id}", {
        params: { path: { id } },
      });
      return { data, error, status: response.status };
    },
  };
}

/** The error codes a client switches on: `Error.code` is an enum, so a misspelt one does not compile. */
export function isRetryable(error: ApiErrorBody): boolean {
  switch (error.code) {
    case "RATE_LIMITED":
    case "IDEMPOTENCY_KEY_IN_USE":
    case "INTERNAL_SERVER_ERROR":
      return true;
    default:
      return false;
  }
}

/** Only compiled (never called): what the generated types refuse. */
export function refusedByTheTypes(baseUrl: string) {
  const client = createClient<paths>({ baseUrl });
  // @ts-expect-error: "KING" is not a role
  void client.POST("/api/v1/invitations", { body: { email: "a@example.com", role: "KING" } });
  // @ts-expect-error: email is required
  void client.POST("/api/v1/invitations", { body: { role: "VIEWER" } });
  // @ts-expect-error: no such path
  void client.GET("/api/v1/invitation");
  // @ts-expect-error: "DONE" is not a status
  void client.GET("/api/v1/invitations", { params: { query: { status: ["DONE"] } } });
  const code: ApiErrorBody["code"] = "NOT_FOUND";
  // @ts-expect-error: not one of the API's error codes
  const misspelt: ApiErrorBody["code"] = "NOT_FOUNDD";
  return [code, misspelt];
}
