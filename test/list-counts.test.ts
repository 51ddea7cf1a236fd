import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { counters } from "./counters";
import {
  acceptAs,
  api,
  type Caller,
  caller,
  callerAt,
  createWithLink,
  DAY,
  freezeClock,
  list,
  MINUTE,
  restoreAfterEach,
  runSweep,
  storedRows,
} from "./helpers";

restoreAfterEach();

/*
 * The filtered list's totals come from counters the database keeps per (organization, stored
 * status, role) and per inviter (migration 0008). After every kind of write they must equal a
 * count(*) of the rows, and the totals the API shows must equal the rows' effective statuses.
 */

const QUERIES = [
  "",
  "?status=PENDING",
  "?status=EXPIRED",
  "?status=PENDING,EXPIRED",
  "?status=ACCEPTED,REVOKED",
  "?status=EXPIRED,REVOKED&role=VIEWER",
  "?role=OPERATOR",
  "?role=VIEWER,ORG_ADMIN&status=PENDING",
  "?invitedBy=user_one",
  "?invitedBy=user_one&status=EXPIRED",
  "?invitedBy=user_two&status=PENDING&role=VIEWER",
];

/**
 * The counters equal a count(*) of the organization's rows; and at `now`, every list's total is
 * the number of rows it matches by effective status (a PENDING row past expiry is EXPIRED).
 */
async function expectExact(who: Caller, now: number) {
  const { kept, counted } = await counters(who.org);
  expect(kept).toEqual(counted);
  const rows = await storedRows(who.org);
  const effective = (row: (typeof rows)[number]) =>
    row.status === "PENDING" && row.expires_at <= now ? "EXPIRED" : row.status;
  const at = await callerAt(now, who);
  for (const query of QUERIES) {
    const params = new URLSearchParams(query);
    const statuses = params.get("status")?.split(",");
    const roles = params.get("role")?.split(",");
    const inviter = params.get("invitedBy");
    const matching = rows.filter(
      (row) =>
        (!statuses || statuses.includes(effective(row))) &&
        (!roles || roles.includes(row.role)) &&
        (inviter === null || row.invited_by === inviter),
    );
    expect((await list(at, query)).meta.total, query || "(no filter)").toBe(matching.length);
  }
}

/** Two admins of one organization, `user_one` and `user_two`, with tokens valid at `at`. */
async function admins(at: number) {
  freezeClock(at);
  const one = await caller("ORG_ADMIN", undefined, "user_one");
  const two = await caller("ORG_ADMIN", one.org, "user_two");
  return { one, two };
}

const revoke = (who: Caller, id: string) =>
  api(`/api/v1/invitations/${id}`, { method: "DELETE", token: who.token });
const resend = (who: Caller, id: string) =>
  api(`/api/v1/invitations/${id}/resend`, { method: "POST", token: who.token });

describe("the list's counters", () => {
  it("stay exact after creates, a bulk create, and a create that records a due invitation as expired", async () => {
    const start = Date.now();
    const { one, two } = await admins(start);
    await createWithLink(one, "a@example.com", { role: "OPERATOR", expiresInDays: 1 });
    await createWithLink(two, "b@example.com", { role: "VIEWER" });
    await expectExact(one, start);
    const res = await api("/api/v1/invitations/bulk", {
      method: "POST",
      token: two.token,
      json: { invitations: [{ email: "c@example.com", role: "ORG_ADMIN" }, { email: "b@example.com" }, {}] },
    });
    expect(res.status).toBe(200);
    await expectExact(one, start);

    // Two days on, a@ is due but not swept: counted PENDING, totalled EXPIRED; a new invitation
    // to it records it EXPIRED in the same batch.
    const later = start + 2 * DAY;
    await expectExact(one, later);
    await createWithLink(await callerAt(later, two), "a@example.com", { role: "VIEWER" });
    await expectExact(one, later);
  });

  it("stay exact after a revoke and an accept", async () => {
    const start = Date.now();
    const { one, two } = await admins(start);
    const revoked = await createWithLink(one, "r@example.com");
    const accepted = await createWithLink(two, "acc@example.com", { role: "ORG_ADMIN" });
    expect((await revoke(one, revoked.id)).status).toBe(200);
    await expectExact(one, start);
    await acceptAs("acc@example.com", accepted.token);
    await expectExact(one, start);
  });

  it("stay exact after the resend of an expired invitation, swept or not", async () => {
    const start = Date.now();
    const { one } = await admins(start);
    const unswept = await createWithLink(one, "unswept@example.com", { expiresInDays: 1 });
    const swept = await createWithLink(one, "swept@example.com", { role: "OPERATOR", expiresInDays: 1 });
    const later = start + 2 * DAY;
    await env.DB.prepare("UPDATE invitations SET status = 'EXPIRED' WHERE id = ?").bind(swept.id).run();
    await expectExact(one, later);
    const resender = await callerAt(later, one);
    expect((await resend(resender, unswept.id)).status).toBe(200);
    await expectExact(one, later);
    expect((await resend(resender, swept.id)).status).toBe(200);
    await expectExact(one, later);
  });

  it("stay exact after the sweep", async () => {
    const start = Date.now();
    const { one, two } = await admins(start);
    await createWithLink(one, "soon@example.com", { expiresInDays: 1 });
    await createWithLink(two, "soon2@example.com", { role: "ORG_ADMIN", expiresInDays: 1 });
    await createWithLink(two, "late@example.com", { expiresInDays: 30 });
    const later = start + 2 * DAY;
    await expectExact(one, later);
    await runSweep(later);
    const statuses = (await storedRows(one.org)).map((row) => [row.email, row.status]);
    expect(statuses.toSorted()).toEqual([
      ["late@example.com", "PENDING"],
      ["soon2@example.com", "EXPIRED"],
      ["soon@example.com", "EXPIRED"],
    ]);
    await expectExact(one, later + MINUTE);
  });

  it("stay exact after UPDATE and DELETE run by hand, of any counted column", async () => {
    const start = Date.now();
    const { one, two } = await admins(start);
    const other = await caller("ORG_ADMIN", undefined, "user_one");
    const a = await createWithLink(one, "ha@example.com");
    const b = await createWithLink(two, "hb@example.com", { role: "OPERATOR" });
    const c = await createWithLink(two, "hc@example.com");
    const run = (sql: string, ...params: unknown[]) =>
      env.DB.prepare(sql)
        .bind(...params)
        .run();
    await run("UPDATE invitations SET status = 'REVOKED' WHERE id = ?", a.id);
    await run("UPDATE invitations SET role = 'ORG_ADMIN' WHERE id = ?", b.id);
    await run("UPDATE invitations SET invited_by = 'user_one' WHERE id = ?", c.id);
    // A write of the same values, and of uncounted columns, changes nothing.
    await run(
      "UPDATE invitations SET status = status, role = role, updated_at = updated_at + 1 WHERE id = ?",
      b.id,
    );
    await expectExact(one, start);
    await run("UPDATE invitations SET organization_id = ? WHERE id = ?", other.org, b.id);
    await expectExact(one, start);
    await expectExact(other, start);
    await run("DELETE FROM invitations WHERE id = ?", c.id);
    await expectExact(one, start);
    await run("DELETE FROM invitations WHERE organization_id = ?", one.org);
    await expectExact(one, start);
    expect((await counters(one.org)).kept).toEqual({});
  });
});
