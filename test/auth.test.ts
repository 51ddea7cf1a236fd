import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import {
  api,
  base64UrlJson,
  caller,
  countAllRows,
  createInvitation,
  expectError,
  fetchWith,
  freezeClock,
  newOrgId,
  restoreAfterEach,
  signingKeyPair,
  signToken,
} from "./helpers";

function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub: "user_1", org_id: newOrgId(), role: "ORG_ADMIN", iat: now, exp: now + 3600, ...overrides };
}

async function rsaSigned(org: string): Promise<string> {
  const { privateKey } = await signingKeyPair("RS256");
  return sign(claims({ org_id: org }), privateKey, "RS256");
}

async function expectUnauthorized(res: Response) {
  expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
  await expectError(res, 401, "UNAUTHORIZED", "Unauthorized", "Unauthorized");
}

describe("authentication", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const rejected: [string, (org: string) => Promise<Record<string, string>>][] = [
    ["no Authorization header", async () => ({})],
    ["an empty Authorization header", async () => ({ Authorization: "" })],
    ["a Basic scheme", async () => ({ Authorization: "Basic dXNlcjpwYXNz" })],
    ["Bearer without a token", async () => ({ Authorization: "Bearer " })],
    ["a token that is not a JWT", async () => ({ Authorization: "Bearer not.a.jwt" })],
    // Found by the property tests: a header that is valid JSON but not an object.
    ["a JWT whose header is JSON null", async () => ({ Authorization: "Bearer bnVsbA.e30.x" })],
    [
      "a JWT whose header is a JSON array",
      async () => ({ Authorization: `Bearer ${base64UrlJson(["HS256"])}.e30.x` }),
    ],
    ["a token with two parts", async () => ({ Authorization: "Bearer abc.def" })],
    [
      "a token signed with another secret",
      async (org) => bearer(await signToken({ org, secret: "another-secret-that-is-long-enough-0123" })),
    ],
    [
      "a tampered payload",
      async (org) => {
        const [header, , signature] = (await signToken({ org, role: "VIEWER" })).split(".");
        return bearer(`${header}.${base64UrlJson(claims({ org_id: org, role: "ORG_ADMIN" }))}.${signature}`);
      },
    ],
    [
      "alg none",
      async (org) =>
        bearer(`${base64UrlJson({ alg: "none", typ: "JWT" })}.${base64UrlJson(claims({ org_id: org }))}.`),
    ],
    [
      "alg none with a signature",
      async (org) =>
        bearer(
          `${base64UrlJson({ alg: "none", typ: "JWT" })}.${base64UrlJson(claims({ org_id: org }))}.c2ln`,
        ),
    ],
    [
      "HS512 with the right secret",
      async (org) => bearer(await sign(claims({ org_id: org }), env.JWT_SECRET, "HS512")),
    ],
    ["RS256", async (org) => bearer(await rsaSigned(org))],
    [
      "a token expired beyond the 30 s clock skew",
      async (org) => bearer(await signToken({ org, claims: { exp: now() - 31 } })),
    ],
    [
      "a token that expired an hour ago",
      async (org) => bearer(await signToken({ org, claims: { exp: now() - 3600 } })),
    ],
    ["a token without exp", async (org) => bearer(await signToken({ org, claims: { exp: undefined } }))],
    ["a non-numeric exp", async (org) => bearer(await signToken({ org, claims: { exp: "9999999999" } }))],
    [
      "a token not valid yet (nbf)",
      async (org) => bearer(await signToken({ org, claims: { nbf: now() + 600 } })),
    ],
    [
      "a token issued in the future (iat)",
      async (org) => bearer(await signToken({ org, claims: { iat: now() + 600 } })),
    ],
    ["a token without sub", async (org) => bearer(await signToken({ org, claims: { sub: undefined } }))],
    ["an empty sub", async (org) => bearer(await signToken({ org, claims: { sub: "" } }))],
    [
      "a token without org_id",
      async (org) => bearer(await signToken({ org, claims: { org_id: undefined } })),
    ],
    ["an org_id that is not a UUID", async () => bearer(await signToken({ org: "acme" }))],
    ["a token without role", async (org) => bearer(await signToken({ org, claims: { role: undefined } }))],
    ["an unknown role", async (org) => bearer(await signToken({ org, claims: { role: "SUPERUSER" } }))],
    ["a lower-case role", async (org) => bearer(await signToken({ org, claims: { role: "org_admin" } }))],
  ];

  for (const [name, headers] of rejected) {
    it(`returns 401 UNAUTHORIZED for ${name}, and creates nothing`, async () => {
      const rowsBefore = await countAllRows();
      const res = await api("/api/v1/invitations", {
        method: "POST",
        headers: await headers(newOrgId()),
        json: { email: "x@example.com", role: "ORG_ADMIN" },
      });
      await expectUnauthorized(res);
      expect(await countAllRows()).toBe(rowsBefore);
    });
  }

  it("returns 401 on list and revoke as well", async () => {
    await expectUnauthorized(await api("/api/v1/invitations"));
    await expectUnauthorized(await api(`/api/v1/invitations/${crypto.randomUUID()}`, { method: "DELETE" }));
  });

  it("accepts the Bearer scheme in any case, and nbf/iat in the past", async () => {
    const org = newOrgId();
    const token = await signToken({ org, claims: { nbf: now() - 10, iat: now() - 10 } });
    const res = await api("/api/v1/invitations", { headers: { Authorization: `bearer ${token}` } });
    expect(res.status).toBe(200);
  });

  it("accepts an org_id with UUID shape but without RFC 9562 version bits", async () => {
    const who = await caller("ORG_ADMIN", "11111111-1111-1111-1111-111111111111");
    const invitation = await createInvitation(who, "guid@example.com");
    expect(invitation.organizationId).toBe("11111111-1111-1111-1111-111111111111");
  });

  it("checks authentication before validation: a bad body without a token is 401", async () => {
    const res = await api("/api/v1/invitations", { method: "POST", json: { email: "not-an-email" } });
    await expectUnauthorized(res);
  });

  describe("with JWT_ISSUER and JWT_AUDIENCE configured", () => {
    const configured = { JWT_ISSUER: "https://auth.example.com", JWT_AUDIENCE: "invitations-api" };

    function fetchConfigured(token: string) {
      return fetchWith(configured, "/api/v1/invitations", { headers: { Authorization: `Bearer ${token}` } });
    }

    it("accepts a token with the matching iss and aud (aud as a string or in an array)", async () => {
      const iss = "https://auth.example.com";
      expect(
        (await fetchConfigured(await signToken({ claims: { iss, aud: "invitations-api" } }))).status,
      ).toBe(200);
      expect(
        (await fetchConfigured(await signToken({ claims: { iss, aud: ["other", "invitations-api"] } })))
          .status,
      ).toBe(200);
    });

    const wrong: [string, Record<string, unknown>][] = [
      ["no iss", { aud: "invitations-api" }],
      ["another iss", { iss: "https://evil.example.com", aud: "invitations-api" }],
      ["no aud", { iss: "https://auth.example.com" }],
      ["another aud", { iss: "https://auth.example.com", aud: "someone-else" }],
    ];
    for (const [name, extra] of wrong) {
      it(`returns 401 for ${name}`, async () => {
        await expectUnauthorized(await fetchConfigured(await signToken({ claims: extra })));
      });
    }
  });
});

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

describe("a token verified moments ago", () => {
  restoreAfterEach();

  it("is still held to its exp on every request, however recently its signature passed", async () => {
    const start = freezeClock();
    const token = await signToken({ expiresIn: 60 });
    const list = () => api("/api/v1/invitations", { token });
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);
    // Past exp plus the 30 s of leeway: refused, though its signature was checked a moment ago.
    freezeClock(start + 91_000);
    await expectUnauthorized(await list());
  });

  it("lends nothing to a token that differs only in its signature", async () => {
    const token = await signToken();
    expect((await api("/api/v1/invitations", { token })).status).toBe(200);
    const [header, payload] = token.split(".");
    const forged = `${header}.${payload}.${"A".repeat(43)}`;
    await expectUnauthorized(await api("/api/v1/invitations", { token: forged }));
  });

  it("counts for no other secret: a new JWT_SECRET refuses what the old one verified", async () => {
    const token = await signToken();
    expect((await api("/api/v1/invitations", { token })).status).toBe(200);
    const res = await fetchWith(
      { JWT_SECRET: "another-secret-0123456789abcdef-0123456789" },
      "/api/v1/invitations",
      {
        headers: { Authorization: `Bearer ${token}` },
      },
    );
    await expectUnauthorized(res);
  });
});
