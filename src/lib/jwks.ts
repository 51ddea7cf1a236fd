import { z } from "@hono/zod-openapi";
import { describeError, type Logger } from "./log";

/** The asymmetric algorithms accepted from a JWKS. */
export const JWKS_ALGORITHMS = ["RS256", "ES256"] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];

/** A public key from the set, bound to the one algorithm it may verify (RFC 8725 §3.1). */
export type VerificationKey = { kid: string | undefined; alg: JwksAlgorithm; key: CryptoKey };

/**
 * After a refetch for an unknown `kid`, the next one waits this long: tokens with invented kids
 * must not turn into a request to the identity provider each.
 */
export const UNKNOWN_KID_REFETCH_COOLDOWN_MS = 30_000;
/** A JWKS endpoint slower than this counts as down. */
const FETCH_TIMEOUT_MS = 5_000;

const IMPORT_PARAMS = {
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
} as const satisfies Record<JwksAlgorithm, SubtleCryptoImportKeyAlgorithm>;

const JwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string().optional(),
  alg: z.string().optional(),
  use: z.string().optional(),
  key_ops: z.array(z.string()).optional(),
  crv: z.string().optional(),
  n: z.string().optional(),
  e: z.string().optional(),
  x: z.string().optional(),
  y: z.string().optional(),
});
const JwksSchema = z.object({ keys: z.array(z.unknown()) });

/**
 * The one algorithm a JWK may be used with: its `alg` when it names one, otherwise what its key
 * type implies (RSA: RS256; EC on P-256: ES256). Keys for encryption, other curves or other
 * algorithms are not verification keys here and are left out.
 */
function algorithmOf(jwk: z.infer<typeof JwkSchema>): JwksAlgorithm | undefined {
  if (jwk.use !== undefined && jwk.use !== "sig") return undefined;
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes("verify")) return undefined;
  const implied = jwk.kty === "RSA" ? "RS256" : jwk.kty === "EC" && jwk.crv === "P-256" ? "ES256" : undefined;
  if (jwk.alg !== undefined && jwk.alg !== implied) return undefined;
  return implied;
}

/** Imports the public members only: a JWKS that leaks a private key still yields a public one. */
async function importKey(value: unknown): Promise<VerificationKey | undefined> {
  const parsed = JwkSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const jwk = parsed.data;
  const alg = algorithmOf(jwk);
  if (!alg) return undefined;
  const publicJwk: JsonWebKey =
    alg === "RS256"
      ? { kty: "RSA", n: jwk.n, e: jwk.e, alg }
      : { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
  try {
    const key = await crypto.subtle.importKey("jwk", publicJwk, IMPORT_PARAMS[alg], false, ["verify"]);
    return { kid: jwk.kid, alg, key };
  } catch {
    return undefined;
  }
}

export type KeyLookup = { kid: string | undefined; alg: string };

/**
 * A JWKS (JSON Web Key Set) fetched from `url` and kept for `ttlMs`, per isolate. A token whose
 * `kid` is not in the set triggers one refetch (at most one per cooldown), so a newly published
 * key works at once and a retired one stops working when the set is next fetched. A failed
 * refresh keeps the previous set: a short identity-provider outage does not sign everyone out.
 */
export class JwksCache {
  #keys: VerificationKey[] | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #lastUnknownKidRefetch = Number.NEGATIVE_INFINITY;
  #inflight: { promise: Promise<VerificationKey[]>; startedAt: number } | undefined;
  #failedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly url: string,
    readonly ttlMs: number,
    private readonly fetcher: typeof fetch = (input, init) => fetch(input, init),
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The key that verifies a token with this header, or undefined: no key with that `kid`, no
   * `kid` while the set holds several keys, or a key bound to another algorithm.
   */
  async keyFor({ kid, alg }: KeyLookup, log: Logger): Promise<VerificationKey | undefined> {
    let keys = await this.#current(log);
    let key = pick(keys, kid);
    if (
      !key &&
      kid !== undefined &&
      this.now() - this.#lastUnknownKidRefetch >= UNKNOWN_KID_REFETCH_COOLDOWN_MS
    ) {
      this.#lastUnknownKidRefetch = this.now();
      keys = await this.#refresh(log);
      key = pick(keys, kid);
    }
    return key?.alg === alg ? key : undefined;
  }

  async #current(log: Logger): Promise<VerificationKey[]> {
    if (this.#keys && this.now() - this.#fetchedAt < this.ttlMs) return this.#keys;
    // Never fetched, and the last try failed: fail fast for a cooldown rather than send the
    // provider one fetch per incoming token while it is down.
    if (!this.#keys && this.now() - this.#failedAt < UNKNOWN_KID_REFETCH_COOLDOWN_MS) {
      throw new Error("JWKS unavailable (the last fetch failed moments ago)");
    }
    return this.#refresh(log);
  }

  /**
   * One fetch at a time: concurrent requests share it, but only for as long as a fetch may take.
   * A request cancelled mid-fetch never resumes its continuation, so a shared promise could stay
   * pending for good; an older one is ignored and a fresh fetch started.
   */
  #refresh(log: Logger): Promise<VerificationKey[]> {
    const inflight = this.#inflight;
    if (inflight && this.now() - inflight.startedAt < FETCH_TIMEOUT_MS) return inflight.promise;
    const promise = this.#fetch(log).finally(() => {
      if (this.#inflight?.promise === promise) this.#inflight = undefined;
    });
    this.#inflight = { promise, startedAt: this.now() };
    return promise;
  }

  async #fetch(log: Logger): Promise<VerificationKey[]> {
    try {
      const res = await this.fetcher(this.url, {
        headers: { Accept: "application/json" },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`JWKS endpoint answered ${res.status}`);
      const { keys } = JwksSchema.parse(await res.json());
      const imported = (await Promise.all(keys.map(importKey))).filter((key) => key !== undefined);
      this.#keys = imported;
      this.#fetchedAt = this.now();
      return imported;
    } catch (error) {
      if (!this.#keys) {
        this.#failedAt = this.now();
        throw new Error("JWKS could not be fetched", { cause: error });
      }
      // Keep the previous set, and try again after a cooldown rather than on every request.
      this.#fetchedAt = this.now() - this.ttlMs + UNKNOWN_KID_REFETCH_COOLDOWN_MS;
      log("warn", "JWKS refresh failed; the previous key set stays in use", { error: describeError(error) });
      return this.#keys;
    }
  }
}

function pick(keys: VerificationKey[], kid: string | undefined): VerificationKey | undefined {
  if (kid === undefined) return keys.length === 1 ? keys[0] : undefined;
  return keys.find((key) => key.kid === kid);
}
