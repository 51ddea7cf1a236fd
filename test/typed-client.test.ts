import { env, exports } from "cloudflare:workers";
import { hc } from "hono/client";
import { describe, expect, expectTypeOf, it, vi } from "vitest";
import type { AppType } from "../src/index";
import { BASE, caller, storedRows } from "./helpers";
import { inviteAndRevoke } from "./typed-client.example";

describe("the typed client (hono/client with AppType)", () => {
  it("runs the README's example against the Worker: create with an Idempotency-Key, list, revoke", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const admin = await caller();
    const result = await inviteAndRevoke(BASE, admin.token, (input, init) =>
      exports.default.fetch(input, init),
    );
    expect(result).toEqual({
      inviteUrl: expect.stringMatching(/^https:\/\/app\.example\.com\/invitations\/accept\?token=[\w-]{43}$/),
      listed: 1,
      total: 1,
      revoked: 200,
    });
    expect((await storedRows(admin.org)).map((row) => [row.email, row.role, row.status])).toEqual([
      ["ada@example.com", "OPERATOR", "REVOKED"],
    ]);
  });

  it("is the code the README shows", () => {
    const source = env.TEST_TYPED_CLIENT_EXAMPLE;
    const start = source.indexOf("// README: typed client\n");
    const end = source.indexOf("// end README");
    expect(start).toBeGreaterThan(0);
    const example = source.slice(start + "// README: typed client\n".length, end);
    const shown = example.replace('from "../src/index"', 'from "invitations-api"');
    expect(env.TEST_README).toContain(`\`\`\`ts\n${shown}\`\`\``);
  });

  it("types inputs and answers from the API's schemas", () => {
    const invitations = hc<AppType>(BASE).api.v1.invitations;
    // Only compiled, never called: what the type check accepts and refuses.
    const compiled = () => {
      // @ts-expect-error: not a role
      invitations.$post({ json: { email: "a@example.com", role: "OWNER" } });
      // @ts-expect-error: the body is required
      invitations.$post({});
      invitations.$post({ json: { email: "a@example.com" } });
      // No header argument needed: every header is optional.
      invitations.$get();
      invitations[":id"].$delete({ param: { id: "497f6eca-6276-4993-bfeb-53cbbbba6f08" } });
      invitations.bulk.$post({ json: { invitations: [{ email: "a@example.com" }], dryRun: true } });
    };
    expect(typeof compiled).toBe("function");
    type Created = Awaited<ReturnType<Awaited<ReturnType<typeof invitations.$post>>["json"]>>;
    expectTypeOf<Created>().toHaveProperty("inviteUrl").toEqualTypeOf<string>();
    expectTypeOf<Created["status"]>().toEqualTypeOf<
      "PENDING" | "ACCEPTED" | "REVOKED" | "EXPIRED" | "DECLINED"
    >();
  });
});
