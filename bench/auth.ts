/** The bench Worker's HS256 secret (given to `wrangler dev` as JWT_SECRET) and its callers' tokens. */
import { sign } from "hono/jwt";

export const SECRET = "bench-secret-not-for-production-0123456789";

/** An ORG_ADMIN of `org`, valid for an hour: the Authorization header. */
export async function auth(org: string, sub = "bench"): Promise<{ Authorization: string }> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return {
    Authorization: `Bearer ${await sign({ sub, org_id: org, role: "ORG_ADMIN", exp }, SECRET, "HS256")}`,
  };
}
