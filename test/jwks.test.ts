import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { JwksCache, UNKNOWN_KID_REFETCH_COOLDOWN_MS } from "../src/lib/jwks";
import {
  BASE,
  base64Url,
  base64UrlJson,
  expectError,
  newOrgId,
  restoreAfterEach,
  signingKeyPair,
} from "./helpers";

const JWKS_URL = "https://login.example.com/.well-known/jwks.json";

type KeyPair = { kid: string; alg: "RS256" | "ES256"; privateKey: CryptoKey; publicJwk: JsonWebKey };

/** A fresh key pair of `alg`, with the public half as the provider's JWKS would publish it. */
async function keyPair(kid: string, alg: KeyPair["alg"]): Promise<KeyPair> {
  const pair = await signingKeyPair(alg);
  const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  return { kid, alg, privateKey: pair.privateKey, publicJwk };
}

const rsaKey = (kid: string) => keyPair(kid, "RS256");
const ecKey = (kid: string) => keyPair(kid, "ES256");

/** The JWKS document an identity provider would publish for these keys. */
function jwks(...keys: KeyPair[]) {
  return { keys: keys.map(({ kid, alg, publicJwk }) => ({ ...publicJwk, kid, alg, use: "sig" })) };
}

/** Signs with whatever header the case needs, as a forger could: `alg` and `kid` are not checked here. */
async function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: CryptoKey | string,
) {
  const input = `${base64UrlJson(header)}.${base64UrlJson(payload)}`;
  const data = new TextEncoder().encode(input);
  let signature: ArrayBuffer;
  if (typeof key === "string") {
    const hmac = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    signature = await crypto.subtle.sign("HMAC", hmac, data);
  } else if (key.algorithm.name === "ECDSA") {
    signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, data);
  } else {
    signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data);
  }
  return `${input}.${base64Url(signature)}`;
}

function memberClaims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub: "user_idp", org_id: newOrgId(), role: "ORG_ADMIN", iat: now, exp: now + 600, ...overrides };
}

function signWith(pair: KeyPair, claims = memberClaims(), header: Record<string, unknown> = {}) {
  return signJwt({ alg: pair.alg, typ: "JWT", kid: pair.kid, ...header }, claims, pair.privateKey);
}

/** Serves the JWKS from inside the test: `fetch` to JWKS_URL answers `current`, and is counted. */
function serveJwks() {
  const served = { document: { keys: [] } as unknown, status: 200, fetches: 0 };
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url !== JWKS_URL) throw new Error(`unexpected fetch in test: ${url}`);
    served.fetches += 1;
    return Response.json(served.document, { status: served.status });
  });
  return served;
}

/**
 * An environment with JWKS configured, kept across requests as an isolate keeps its `env` (the
 * key set is cached per configuration, so a new object would start with an empty cache).
 */
function jwksEnv(vars: Partial<Record<keyof Env, string>> = {}): Env {
  return { ...env, JWT_JWKS_URL: JWKS_URL, ...vars } as Env;
}

async function listAs(workerEnv: Env, token: string) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}/api/v1/invitations`, { headers: { Authorization: `Bearer ${token}` } }),
    workerEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function expectUnauthorized(res: Response) {
  expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
  await expectError(res, 401, "UNAUTHORIZED", "Unauthorized", "Unauthorized");
}

let rsa: KeyPair;
let rsaNext: KeyPair;
let ec: KeyPair;
let stranger: KeyPair;

beforeAll(async () => {
  [rsa, rsaNext, ec, stranger] = await Promise.all([
    rsaKey("rsa-1"),
    rsaKey("rsa-2"),
    ecKey("ec-1"),
    rsaKey("rsa-1"),
  ]);
});

restoreAfterEach();

describe("tokens from an identity provider's JWKS (RS256, ES256)", () => {
  let served: ReturnType<typeof serveJwks>;
  beforeEach(() => {
    served = serveJwks();
    served.document = jwks(rsa, ec);
  });

  it("accepts an RS256 and an ES256 token, each verified with the key its kid names", async () => {
    const workerEnv = jwksEnv();
    expect((await listAs(workerEnv, await signWith(rsa))).status).toBe(200);
    expect((await listAs(workerEnv, await signWith(ec))).status).toBe(200);
  });

  it("fetches the key set once and serves later requests from the cache", async () => {
    const workerEnv = jwksEnv();
    for (let i = 0; i < 3; i++) expect((await listAs(workerEnv, await signWith(rsa))).status).toBe(200);
    expect(served.fetches).toBe(1);
  });

  it("refetches once when a token names a kid it does not hold, so a rotated-in key works at once", async () => {
    const workerEnv = jwksEnv();
    expect((await listAs(workerEnv, await signWith(rsa))).status).toBe(200);
    served.document = jwks(rsaNext, ec); // the provider rotates rsa-1 out and rsa-2 in
    expect((await listAs(workerEnv, await signWith(rsaNext))).status).toBe(200);
    expect(served.fetches).toBe(2);
    // The refreshed set no longer holds rsa-1: its tokens stop working.
    await expectUnauthorized(await listAs(workerEnv, await signWith(rsa)));
  });

  it("refetches at most once per cooldown for unknown kids: invented kids cannot hammer the provider", async () => {
    const workerEnv = jwksEnv();
    const forged = (kid: string) => signWith({ ...stranger, kid });
    await expectUnauthorized(await listAs(workerEnv, await forged("unknown-1")));
    await expectUnauthorized(await listAs(workerEnv, await forged("unknown-2")));
    await expectUnauthorized(await listAs(workerEnv, await forged("unknown-3")));
    expect(served.fetches).toBe(2); // the first load, and one refetch
  });

  it("accepts a token without kid when the set holds exactly one key", async () => {
    served.document = jwks(ec);
    const token = await signJwt({ alg: "ES256", typ: "JWT" }, memberClaims(), ec.privateKey);
    expect((await listAs(jwksEnv(), token)).status).toBe(200);
  });

  it("keeps accepting HS256 tokens signed with JWT_SECRET beside the JWKS", async () => {
    const token = await signJwt({ alg: "HS256", typ: "JWT" }, memberClaims(), env.JWT_SECRET);
    expect((await listAs(jwksEnv(), token)).status).toBe(200);
    expect(served.fetches).toBe(0);
  });

  const rejected: [string, () => Promise<string>, Partial<Record<keyof Env, string>>?][] = [
    [
      "no kid while the set holds several keys",
      () => signJwt({ alg: "RS256", typ: "JWT" }, memberClaims(), rsa.privateKey),
    ],
    [
      "HS256 signed with the RSA public key as the secret (key confusion)",
      () =>
        signJwt(
          { alg: "HS256", typ: "JWT", kid: rsa.kid },
          memberClaims(),
          JSON.stringify(jwks(rsa).keys[0]),
        ),
    ],
    [
      "HS256 signed with the RSA modulus as the secret",
      () => signJwt({ alg: "HS256", typ: "JWT", kid: rsa.kid }, memberClaims(), rsa.publicJwk.n ?? ""),
      { JWT_SECRET: "" },
    ],
    [
      "HS256 with the right secret when only the JWKS is configured",
      () => signJwt({ alg: "HS256", typ: "JWT" }, memberClaims(), env.JWT_SECRET),
      { JWT_SECRET: "" },
    ],
    [
      "alg none naming a real kid",
      async () =>
        `${base64UrlJson({ alg: "none", typ: "JWT", kid: rsa.kid })}.${base64UrlJson(memberClaims())}.`,
    ],
    ["RS256 naming the ES256 key's kid", () => signWith(rsa, memberClaims(), { kid: ec.kid })],
    ["ES256 naming the RS256 key's kid", () => signWith(ec, memberClaims(), { kid: rsa.kid })],
    ["RS384 (an algorithm the key does not allow)", () => signWith(rsa, memberClaims(), { alg: "RS384" })],
    ["PS256 (an algorithm the key does not allow)", () => signWith(rsa, memberClaims(), { alg: "PS256" })],
    ["RS256 signed by another key under a known kid", () => signWith(stranger)],
    ["a kid that is a number", () => signWith(rsa, memberClaims(), { kid: 1 })],
    ["a crit header", () => signWith(rsa, memberClaims(), { crit: ["exp"] })],
    ["a typ other than JWT", () => signWith(rsa, memberClaims(), { typ: "JWE" })],
    [
      "an expired RS256 token",
      () => signWith(rsa, memberClaims({ exp: Math.floor(Date.now() / 1000) - 3600 })),
    ],
    ["an RS256 token without exp", () => signWith(rsa, memberClaims({ exp: undefined }))],
    ["an ES256 token without role", () => signWith(ec, memberClaims({ role: undefined }))],
    [
      "an ES256 signature in DER rather than raw r||s",
      async () => {
        const [head, body, sig = ""] = (await signWith(ec)).split(".");
        const raw = Uint8Array.from(atob(sig.replaceAll("-", "+").replaceAll("_", "/")), (ch) =>
          ch.charCodeAt(0),
        );
        const der = [0x30, 0x44, 0x02, 0x20, ...raw.slice(0, 32), 0x02, 0x20, ...raw.slice(32)];
        return `${head}.${body}.${base64Url(new Uint8Array(der))}`;
      },
    ],
  ];
  for (const [name, token, vars] of rejected) {
    it(`returns 401 for ${name}`, async () => {
      await expectUnauthorized(await listAs(jwksEnv(vars), await token()));
    });
  }

  it("answers 500 in the envelope, and logs it, when the key set cannot be fetched and none is cached", async () => {
    served.status = 503;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await listAs(jwksEnv(), await signWith(rsa));
    const requestId = res.headers.get("X-Request-Id");
    await expectError(res, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error", "Internal server error");
    const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toContainEqual(expect.objectContaining({ level: "error", requestId }));
  });
});

describe("clock skew", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const hs = (claims: Record<string, unknown>) =>
    signJwt({ alg: "HS256", typ: "JWT" }, memberClaims(claims), env.JWT_SECRET);

  const cases: [string, Record<string, unknown>, string, number][] = [
    ["exp 10 s ago", { exp: now() - 10 }, "30", 200],
    ["exp 31 s ago", { exp: now() - 31 }, "30", 401],
    ["nbf 20 s ahead", { nbf: now() + 20 }, "30", 200],
    ["nbf 40 s ahead", { nbf: now() + 40 }, "30", 401],
    ["iat 20 s ahead", { iat: now() + 20 }, "30", 200],
    ["iat 40 s ahead", { iat: now() + 40 }, "30", 401],
    ["exp 1 s ago", { exp: now() - 1 }, "0", 401],
    ["exp 100 s ago", { exp: now() - 100 }, "120", 200],
  ];
  for (const [name, claims, skew, status] of cases) {
    it(`${status === 200 ? "accepts" : "refuses"} a token with ${name} when the skew is ${skew} s`, async () => {
      const res = await listAs({ ...env, JWT_CLOCK_SKEW_SECONDS: skew } as Env, await hs(claims));
      expect(res.status).toBe(status);
    });
  }

  it("defaults to 30 seconds", async () => {
    const { JWT_CLOCK_SKEW_SECONDS: _, ...rest } = env;
    const withoutSkew = rest as unknown as Env;
    expect((await listAs(withoutSkew, await hs({ exp: now() - 20 }))).status).toBe(200);
    expect((await listAs(withoutSkew, await hs({ exp: now() - 31 }))).status).toBe(401);
  });
});

describe("the key set cache", () => {
  function fakeProvider() {
    const provider = { document: jwks(rsa) as unknown, fail: false, fetches: 0, time: 1_000_000 };
    const fetcher = (async () => {
      provider.fetches += 1;
      await Promise.resolve();
      return provider.fail ? new Response("down", { status: 503 }) : Response.json(provider.document);
    }) as unknown as typeof fetch;
    const cache = new JwksCache(JWKS_URL, 60_000, fetcher, () => provider.time);
    return { provider, cache };
  }
  const quiet = () => {};

  it("fetches again once the TTL has passed", async () => {
    const { provider, cache } = fakeProvider();
    expect(await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet)).toBeDefined();
    provider.time += 59_999;
    await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet);
    expect(provider.fetches).toBe(1);
    provider.time += 1;
    await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet);
    expect(provider.fetches).toBe(2);
  });

  it("shares one fetch among concurrent requests", async () => {
    const { provider, cache } = fakeProvider();
    const keys = await Promise.all(
      Array.from({ length: 10 }, () => cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet)),
    );
    expect(keys.every((key) => key !== undefined)).toBe(true);
    expect(provider.fetches).toBe(1);
  });

  it("refetches for an unknown kid again only after the cooldown", async () => {
    const { provider, cache } = fakeProvider();
    await cache.keyFor({ kid: "nope", alg: "RS256" }, quiet);
    await cache.keyFor({ kid: "nope", alg: "RS256" }, quiet);
    expect(provider.fetches).toBe(2);
    provider.time += UNKNOWN_KID_REFETCH_COOLDOWN_MS;
    provider.document = jwks(rsa, rsaNext);
    expect(await cache.keyFor({ kid: "rsa-2", alg: "RS256" }, quiet)).toBeDefined();
    expect(provider.fetches).toBe(3);
  });

  it("keeps the previous set when a refresh fails, logs it, and retries after the cooldown", async () => {
    const { provider, cache } = fakeProvider();
    await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet);
    provider.time += 60_000;
    provider.fail = true;
    const log = vi.fn();
    expect(await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, log)).toBeDefined();
    expect(log).toHaveBeenCalledWith(
      "warn",
      expect.stringContaining("JWKS refresh failed"),
      expect.anything(),
    );
    await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet);
    expect(provider.fetches).toBe(2);
    provider.time += UNKNOWN_KID_REFETCH_COOLDOWN_MS;
    provider.fail = false;
    await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet);
    expect(provider.fetches).toBe(3);
  });

  it("fails fast for a cooldown when the set was never fetched and the last try failed", async () => {
    const { provider, cache } = fakeProvider();
    provider.fail = true;
    await expect(cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet)).rejects.toThrow();
    await expect(cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet)).rejects.toThrow();
    expect(provider.fetches).toBe(1);
    provider.time += UNKNOWN_KID_REFETCH_COOLDOWN_MS;
    provider.fail = false;
    expect(await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet)).toBeDefined();
    expect(provider.fetches).toBe(2);
  });

  it("stops waiting on a shared fetch that never settles (its request was cancelled) and fetches afresh", async () => {
    let fetches = 0;
    let time = 1_000_000;
    const fetcher = (async () => {
      fetches += 1;
      if (fetches === 1) return new Promise<Response>(() => {}); // hangs for good
      return Response.json(jwks(rsa));
    }) as unknown as typeof fetch;
    const cache = new JwksCache(JWKS_URL, 60_000, fetcher, () => time);
    void cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet);
    await Promise.resolve();
    time += 5_000;
    expect(await cache.keyFor({ kid: "rsa-1", alg: "RS256" }, quiet)).toBeDefined();
    expect(fetches).toBe(2);
  });

  it("binds each key to one algorithm and leaves out keys that are not for verifying", async () => {
    const { provider, cache } = fakeProvider();
    const [base] = jwks(rsa).keys;
    provider.document = {
      keys: [
        { ...base, kid: "enc", use: "enc" },
        { ...base, kid: "wrong-alg", alg: "ES256" },
        { ...base, kid: "ops", key_ops: ["encrypt"] },
        { ...base, kid: "rs384", alg: "RS384" },
        { kty: "oct", kid: "secret", k: "c2VjcmV0" },
        "not a key",
        { ...base, kid: "implied", alg: undefined },
      ],
    };
    for (const kid of ["enc", "wrong-alg", "ops", "rs384", "secret"]) {
      expect(await cache.keyFor({ kid, alg: "RS256" }, quiet)).toBeUndefined();
    }
    expect(await cache.keyFor({ kid: "implied", alg: "RS256" }, quiet)).toMatchObject({ alg: "RS256" });
    expect(await cache.keyFor({ kid: "implied", alg: "ES256" }, quiet)).toBeUndefined();
  });
});
