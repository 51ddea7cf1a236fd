/*
 * Turning a generated request specification (arbitraries.ts) into a real request, at the moment
 * a run sends it: tokens are signed at the run's fake time, and `known-*` values resolve against
 * the invitations the attacker has learnt so far.
 */
import { env } from "cloudflare:workers";
import { BASE, base64Url, signToken } from "../helpers";
import { type Body, type Credential, type Id, type RequestSpec, type Value, vary } from "./arbitraries";
import { ATTACKER_ORG, knownAt, victim } from "./scene";

/** A value as a plain string (query) given the request's pick. */
export function valueString(value: Value, pick: number): string {
  switch (value.kind) {
    case "text":
      return value.text;
    case "known-email":
      return vary(knownAt(pick).email, value.variant);
    case "known-token":
      return knownAt(pick).token;
    case "victim-id":
      return victim.ids[value.index % victim.ids.length] ?? "";
  }
}

/** A value as JSON text (body). */
export function valueJson(value: Value, pick: number): string {
  return value.kind === "text" ? value.text : JSON.stringify(valueString(value, pick));
}

export function idString(spec: Id, pick: number): string {
  switch (spec.kind) {
    case "known": {
      const value = knownAt(pick).id;
      return spec.upper ? value.toUpperCase() : value;
    }
    case "victim": {
      const value = victim.ids[spec.index % victim.ids.length] ?? "";
      return spec.upper ? value.toUpperCase() : value;
    }
    case "text":
      return spec.encode ? encodeComponent(spec.text) : spec.text;
  }
}

/** Percent-encodes, or leaves the text raw when it cannot be encoded (a lone surrogate). */
export function encodeComponent(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}

export function bodyText(body: Body, pick: number): string | undefined {
  switch (body.kind) {
    case "none":
      return undefined;
    case "text":
      return body.text;
    case "object": {
      // Written out by hand so that duplicate and `__proto__` keys reach the Worker as sent.
      const members = body.entries.map(([key, value]) => `${JSON.stringify(key)}:${valueJson(value, pick)}`);
      const object = `{${members.join(",")}}`;
      return body.inArray ? `[${object}]` : object;
    }
    case "bulk": {
      const items = body.items.map((item) => bodyText(item, pick) ?? "null");
      const members = body.members.map(([key, value]) => `${JSON.stringify(key)}:${valueJson(value, pick)}`);
      return `{${[`"invitations":[${items.join(",")}]`, ...members].join(",")}}`;
    }
  }
}

export const encoder = new TextEncoder();

let hmacKey: Promise<CryptoKey> | undefined;

/** An HS256 signature with the Worker's own secret, over any bytes at all. */
export async function hs256(input: string): Promise<string> {
  hmacKey ??= crypto.subtle.importKey(
    "raw",
    encoder.encode(env.JWT_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return base64Url(new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey, encoder.encode(input))));
}

export async function craftedToken(
  spec: Extract<Credential, { kind: "crafted" }>,
  pick: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = { sub: "attacker-admin", iat: now, exp: now + 3600 };
  if (spec.claims === "member") Object.assign(base, { org_id: ATTACKER_ORG, role: "ORG_ADMIN" });
  if (spec.claims === "invitee") Object.assign(base, { email: knownAt(pick).email });
  const members = new Map(Object.entries(base).map(([key, value]) => [key, JSON.stringify(value)]));
  for (const [key, value] of spec.overrides) {
    if (value === null) members.delete(key);
    else members.set(key, value);
  }
  const payload = `{${[...members].map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
  const signingInput = `${base64Url(encoder.encode(spec.header))}.${base64Url(encoder.encode(payload))}`;
  const signature = {
    valid: () => hs256(signingInput),
    junk: async () => "c2lnbmF0dXJl",
    empty: async () => "",
  };
  return `${signingInput}.${await signature[spec.signature]()}`;
}

/** The Authorization header values a credential sends, in order (two when duplicated). */
export async function authorization(spec: Credential, pick: number): Promise<string[]> {
  switch (spec.kind) {
    case "none":
      return [];
    case "raw":
      return [spec.value];
    case "member": {
      const org = spec.upperOrg ? ATTACKER_ORG.toUpperCase() : ATTACKER_ORG;
      return [`${spec.scheme} ${await signToken({ role: spec.role, org, sub: spec.sub })}`];
    }
    case "invitee": {
      const claims = {
        email: valueString(spec.email, pick),
        email_verified: spec.verified,
        org_id: undefined,
        role: undefined,
      };
      return [`Bearer ${await signToken({ sub: spec.sub, claims })}`];
    }
    case "duplicated":
      return [...(await authorization(spec.first, pick)), ...(await authorization(spec.second, pick))];
    case "crafted":
      return [`Bearer ${await craftedToken(spec, pick)}`];
  }
}

export async function build(spec: RequestSpec): Promise<{ url: string; init: RequestInit; sent: string }> {
  const pick = spec.fresh ? 0 : spec.pick;
  const query = spec.query
    .map(([key, value]) => {
      const raw = valueString(value, pick);
      return spec.encodeQuery ? `${encodeComponent(key)}=${encodeComponent(raw)}` : `${key}=${raw}`;
    })
    .join("&");
  const path = `${spec.path}${spec.id ? idString(spec.id, pick) : ""}${spec.suffix}`;
  const url = `${BASE}${path}${query ? `?${query}` : ""}`;

  const headers = new Headers();
  // `append`, not `set`: a duplicated Authorization reaches the Worker as both values.
  for (const value of await authorization(spec.credential, pick)) headers.append("Authorization", value);
  if (spec.contentType !== null) headers.set("Content-Type", spec.contentType);
  for (const [name, value] of spec.headers) headers.append(name, value);
  // GET and HEAD cannot carry a body.
  const body = spec.method === "GET" ? undefined : bodyText(spec.body, pick);

  const sent = [url, ...[...headers].map(([name, value]) => `${name}: ${value}`), body ?? ""].join("\n");
  return { url, init: { method: spec.method, headers, body }, sent };
}
