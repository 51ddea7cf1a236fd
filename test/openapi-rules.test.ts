/**
 * The rules the server enforces, read from the document it serves rather than restated here: for
 * each constrained input, values the document calls valid are accepted and values it calls
 * invalid are refused (400 VALIDATION_ERROR), and every error code seen is in `Error.code`'s enum.
 */
import { describe, expect, it } from "vitest";
import { api, caller } from "./helpers";

type Schema = {
  type?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  enum?: string[];
};
type Parameter = { name: string; in: string; schema: Schema };
type Document = {
  paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
  components: { schemas: Record<string, { properties: Record<string, Schema> }> };
};

async function served(): Promise<Document> {
  return (await api("/openapi.json")).json<Document>();
}

function parameter(doc: Document, path: string, method: string, name: string): Schema {
  const found = doc.paths[path]?.[method]?.parameters?.find((p) => p.name === name);
  if (!found) throw new Error(`${method} ${path} has no parameter ${name}`);
  return found.schema;
}

/** JSON Schema's `pattern` is an ECMA-262 regular expression, unanchored unless it says so. */
const matches = (schema: Schema, value: string) => new RegExp(schema.pattern ?? "", "u").test(value);

/** Both kinds must be tried, or the check says nothing. */
function bothKinds(verdicts: boolean[]) {
  expect(verdicts).toContain(true);
  expect(verdicts).toContain(false);
}

async function errorCodes(doc: Document) {
  return doc.components.schemas.Error?.properties.code?.enum ?? [];
}

describe("the served document's constraints are the server's", () => {
  it("Idempotency-Key: a key the pattern accepts creates, one it refuses is a 400", async () => {
    const doc = await served();
    const schema = parameter(doc, "/api/v1/invitations", "post", "idempotency-key");
    const admin = await caller();
    const candidates = [
      crypto.randomUUID(),
      "a".repeat(16),
      "~".repeat(255),
      `"${"q".repeat(16)}"`,
      `"${"r".repeat(255)}"`,
      `"${"s".repeat(20)}`,
      "a".repeat(15),
      "b".repeat(256),
      `"${"t".repeat(14)}"`,
      "with a space in it ok",
      "tab\tinside-the-key-x",
    ];
    const verdicts: boolean[] = [];
    for (const [n, key] of candidates.entries()) {
      const valid = matches(schema, key);
      verdicts.push(valid);
      const res = await api("/api/v1/invitations", {
        method: "POST",
        token: admin.token,
        headers: { "Idempotency-Key": key },
        json: { email: `key${n}@example.com`, sendEmail: false },
      });
      const body = await res.json<{ code?: string }>();
      expect([res.status, body.code], `key ${JSON.stringify(key)}`).toEqual(
        valid ? [201, undefined] : [400, "VALIDATION_ERROR"],
      );
    }
    bothKinds(verdicts);
  });

  it("x-d1-bookmark: a bookmark the pattern accepts is read with, one it refuses is a 400", async () => {
    const doc = await served();
    const schema = parameter(doc, "/api/v1/invitations", "get", "x-d1-bookmark");
    const admin = await caller();
    const first = await api("/api/v1/invitations", { token: admin.token });
    const bookmark = first.headers.get("x-d1-bookmark") ?? "";
    const candidates = [bookmark, bookmark.toUpperCase(), bookmark.slice(1), `${bookmark}0`, "first-primary"];
    const verdicts: boolean[] = [];
    for (const value of candidates) {
      const valid = matches(schema, value);
      verdicts.push(valid);
      const res = await api("/api/v1/invitations", {
        token: admin.token,
        headers: { "x-d1-bookmark": value },
      });
      expect(res.status, `bookmark ${value}`).toBe(valid ? 200 : 400);
    }
    bothKinds(verdicts);
  });

  it("page and limit: integers within the document's minimum and maximum are served, others are a 400", async () => {
    const doc = await served();
    const admin = await caller();
    const verdicts: boolean[] = [];
    for (const name of ["page", "limit"]) {
      const schema = parameter(doc, "/api/v1/invitations", "get", name);
      expect(schema.type).toBe("integer");
      const min = schema.minimum ?? Number.NEGATIVE_INFINITY;
      const max = schema.maximum ?? Number.MAX_SAFE_INTEGER;
      for (const value of [min - 1, min, min + 1, max, max + 1, 1.5]) {
        const valid = Number.isInteger(value) && value >= min && value <= max;
        verdicts.push(valid);
        const res = await api(`/api/v1/invitations?${name}=${value}`, { token: admin.token });
        expect(res.status, `${name}=${value}`).toBe(valid ? 200 : 400);
      }
    }
    bothKinds(verdicts);
  });

  it("ids: a value the id pattern accepts is looked up (404 when unknown), others are a 400", async () => {
    const doc = await served();
    const schema = parameter(doc, "/api/v1/invitations/{id}", "get", "id");
    const admin = await caller();
    const uuid = crypto.randomUUID();
    const candidates = [
      uuid,
      uuid.toUpperCase(),
      "00000000-0000-0000-0000-000000000000",
      "497f6eca-6276-0993-bfeb-53cbbbba6f08",
      "497f6eca-6276-4993-7feb-53cbbbba6f08",
      uuid.slice(1),
      "not-a-uuid",
    ];
    const verdicts: boolean[] = [];
    for (const id of candidates) {
      const valid = matches(schema, id);
      verdicts.push(valid);
      const res = await api(`/api/v1/invitations/${id}`, { token: admin.token });
      const body = await res.json<{ code: string }>();
      expect([res.status, body.code], `id ${id}`).toEqual(
        valid ? [404, "INVITATION_NOT_FOUND"] : [400, "VALIDATION_ERROR"],
      );
    }
    bothKinds(verdicts);
  });

  it("create's email: an address the pattern and maxLength accept is invited, others are a 400", async () => {
    const doc = await served();
    const schema = doc.components.schemas.CreateInvitationBody?.properties.email ?? {};
    const admin = await caller();
    const candidates = [
      "plain@example.com",
      " Padded.Upper@Example.COM\t",
      `${"l".repeat(64)}@example.com`,
      `a@${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.${"g".repeat(56)}.com`,
      `${"l".repeat(65)}@example.com`,
      "no-domain-dot@example",
      "two@@example.com",
      "\u212Aelvin@example.com",
      "space inside@example.com",
      `a@${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.${"g".repeat(57)}.com`,
    ];
    const verdicts: boolean[] = [];
    expect(candidates.map((email) => email.length)).toContain(254);
    expect(candidates.map((email) => email.length)).toContain(255);
    for (const email of candidates) {
      const valid = matches(schema, email) && email.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY);
      verdicts.push(valid);
      const res = await api("/api/v1/invitations", {
        method: "POST",
        token: admin.token,
        json: { email, sendEmail: false },
      });
      expect(res.status, `email ${JSON.stringify(email)}`).toBe(valid ? 201 : 400);
    }
    bothKinds(verdicts);
  });

  it("error codes: every code an answer carries is one of Error.code's enum", async () => {
    const codes = await errorCodes(await served());
    const admin = await caller();
    const answers = [
      await api("/api/v1/invitations", { token: "nope" }),
      await api("/api/v1/invitations?limit=0", { token: admin.token }),
      await api(`/api/v1/invitations/${crypto.randomUUID()}`, { token: admin.token }),
      await api("/api/v1/nowhere", { token: admin.token }),
      await api("/api/v1/invitations", { method: "PUT", token: admin.token }),
      await api("/api/v1/invitations", { method: "POST", token: (await caller("VIEWER")).token, json: {} }),
    ];
    const seen = await Promise.all(answers.map(async (res) => (await res.json<{ code: string }>()).code));
    expect(seen).toEqual([
      "UNAUTHORIZED",
      "VALIDATION_ERROR",
      "INVITATION_NOT_FOUND",
      "NOT_FOUND",
      "METHOD_NOT_ALLOWED",
      "FORBIDDEN",
    ]);
    for (const code of seen) expect(codes).toContain(code);
  });
});
