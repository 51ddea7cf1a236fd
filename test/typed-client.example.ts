/*
 * The README's typed-client example, compiled by `npm run typecheck` and run by
 * test/typed-client.test.ts against the Worker. The README shows the part between the markers;
 * that test checks the two agree.
 */
// README: typed client
import { hc } from "hono/client";
import type { AppType } from "../src/index";

export async function inviteAndRevoke(baseUrl: string, token: string, fetch?: typeof globalThis.fetch) {
  const client = hc<AppType>(baseUrl, { headers: { Authorization: `Bearer ${token}` }, fetch });
  const invitations = client.api.v1.invitations;

  // Inputs are typed from the API's own schemas: a misspelt field or role does not compile.
  const created = await invitations.$post({
    json: { email: "ada@example.com", role: "OPERATOR" },
    header: { "idempotency-key": crypto.randomUUID() },
  });
  if (created.status !== 201) throw new Error(`create answered ${created.status}`);
  const invitation = await created.json(); // typed: id, status, expiresAt, inviteUrl, ...

  const page = await invitations.$get({ query: { status: "PENDING", limit: "20" } });
  if (!page.ok) throw new Error(`list answered ${page.status}`);
  const { data, meta } = await page.json();

  const revoked = await invitations[":id"].$delete({ param: { id: invitation.id } });
  return { inviteUrl: invitation.inviteUrl, listed: data.length, total: meta.total, revoked: revoked.status };
}
// end README
