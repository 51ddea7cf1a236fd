/** What the node project's tests share: the running Worker, its document, tokens for it. */
import { sign } from "hono/jwt";
import { inject } from "vitest";

export const worker = inject("worker");

/** The document the Worker serves, as other people's tools read it. */
export async function servedDocument(): Promise<Record<string, unknown>> {
  const res = await fetch(`${worker.base}/openapi.json`);
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A token of a new organization's member (an ORG_ADMIN unless told), valid for an hour. */
export async function memberToken(role = "ORG_ADMIN", org: string = crypto.randomUUID()) {
  const now = Math.floor(Date.now() / 1000);
  const token = await sign(
    { sub: `user_${org.slice(0, 8)}`, org_id: org, role, iat: now, exp: now + 3600 },
    worker.jwtSecret,
    "HS256",
  );
  return { token, org };
}
