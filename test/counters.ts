import { env } from "cloudflare:workers";

/*
 * The counters the database keeps per (organization, stored status, role) and per inviter
 * (migration 0008), beside a count(*) of the rows: after any write the two must be equal.
 */

type Counted = Record<string, number>;

/** `key -> n` of the non-zero counts, as the counters hold them and as a count(*) finds them. */
export async function counters(org: string): Promise<{ kept: Counted; counted: Counted }> {
  const all = async (sql: string) =>
    (await env.DB.prepare(sql).bind(org).all<{ key: string; n: number }>()).results;
  const asRecord = (rows: { key: string; n: number }[]) =>
    Object.fromEntries(rows.filter((row) => row.n !== 0).map((row) => [row.key, row.n]));
  const kept = [
    ...(await all(
      "SELECT status || ' ' || role AS key, total AS n FROM invitation_counts WHERE organization_id = ?",
    )),
    ...(await all(
      "SELECT invited_by || ' ' || status || ' ' || role AS key, total AS n FROM inviter_invitation_counts WHERE organization_id = ?",
    )),
  ];
  const counted = [
    ...(await all(
      "SELECT status || ' ' || role AS key, count(*) AS n FROM invitations WHERE organization_id = ? GROUP BY status, role",
    )),
    ...(await all(
      "SELECT invited_by || ' ' || status || ' ' || role AS key, count(*) AS n FROM invitations WHERE organization_id = ? GROUP BY invited_by, status, role",
    )),
  ];
  return { kept: asRecord(kept), counted: asRecord(counted) };
}
