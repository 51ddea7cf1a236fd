import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  api,
  caller,
  createWithLink,
  databaseSnapshot,
  expectError,
  fetchCountingRowsRead,
  freezeClock,
  inviteeToken,
  restoreAfterEach,
  seedPending,
  signToken,
  storedEvents,
} from "./helpers";

/**
 * The invitee's inbox: the invitations sent to the token's address across organizations, and
 * answering them by id with the same rules and race-safety as by link.
 */

restoreAfterEach();

type MyInvitation = {
  id: string;
  organizationId: string;
  organizationName: string | null;
  role: string;
  status: string;
  invitedBy: string;
  inviterName: string | null;
  createdAt: string;
  expiresAt: string;
  publicMetadata: Record<string, unknown>;
};
type Page = { data: MyInvitation[]; meta: { limit: number; nextCursor: string | null } };

/** A fresh address per test: the inbox spans organizations, so tests must not share one. */
const freshAddress = () => `inbox-${crypto.randomUUID().slice(0, 8)}@example.com`;

async function inbox(email: string, query = ""): Promise<Page> {
  const res = await api(`/api/v1/me/invitations${query}`, { token: await inviteeToken(email) });
  expect(res.status).toBe(200);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  return res.json();
}

const answer = async (email: string, id: string, verb: "accept" | "decline") =>
  api(`/api/v1/me/invitations/${id}/${verb}`, { method: "POST", token: await inviteeToken(email) });

/** An admin of a new organization, whose token names it and them. */
const namedAdmin = async (name: string, orgName: string) => {
  const admin = await caller();
  const token = await signToken({ org: admin.org, sub: admin.sub, claims: { name, org_name: orgName } });
  return { ...admin, token };
};

describe("GET /api/v1/me/invitations", () => {
  it("lists the pending invitations to the caller's address across organizations, newest first, no link", async () => {
    const email = freshAddress();
    const acme = await namedAdmin("Ada Admin", "Acme");
    const globex = await caller();
    const first = await createWithLink(acme, email, { role: "OPERATOR" });
    const second = await createWithLink(globex, email);
    await createWithLink(globex, freshAddress());
    const accepted = await createWithLink(await caller(), email);
    expect((await answer(email, accepted.id, "accept")).status).toBe(200);

    const page = await inbox(email);
    expect(page).toEqual({
      data: [
        {
          id: second.id,
          organizationId: globex.org,
          organizationName: null,
          role: "VIEWER",
          status: "PENDING",
          invitedBy: globex.sub,
          inviterName: null,
          createdAt: second.createdAt,
          expiresAt: second.expiresAt,
          publicMetadata: {},
        },
        {
          id: first.id,
          organizationId: acme.org,
          organizationName: "Acme",
          role: "OPERATOR",
          status: "PENDING",
          invitedBy: acme.sub,
          inviterName: "Ada Admin",
          createdAt: first.createdAt,
          expiresAt: first.expiresAt,
          publicMetadata: {},
        },
      ],
      meta: { limit: 20, nextCursor: null },
    });
    expect(JSON.stringify(page)).not.toContain(first.token);
    // The address in any ASCII case and with ASCII spaces around is the same inbox.
    expect((await inbox(`  ${email.toUpperCase()} `)).data.map((i) => i.id)).toEqual([second.id, first.id]);
  });

  it("filters by effective status: a due invitation is EXPIRED, not PENDING, before the sweep", async () => {
    const email = freshAddress();
    const admin = await caller();
    const soon = await createWithLink(admin, email, { expiresInDays: 1 });
    const later = await createWithLink(await caller(), email);
    const declined = await createWithLink(await caller(), email);
    expect((await answer(email, declined.id, "decline")).status).toBe(200);
    freezeClock(Date.parse(soon.expiresAt));

    expect((await inbox(email)).data.map((i) => i.id)).toEqual([later.id]);
    expect((await inbox(email, "?status=EXPIRED")).data.map((i) => [i.id, i.status])).toEqual([
      [soon.id, "EXPIRED"],
    ]);
    expect((await inbox(email, "?status=DECLINED,EXPIRED")).data.map((i) => i.status)).toEqual([
      "DECLINED",
      "EXPIRED",
    ]);
    const all = await inbox(email, "?status=PENDING,ACCEPTED,REVOKED,EXPIRED,DECLINED");
    expect(all.data.map((i) => i.id)).toEqual([declined.id, later.id, soon.id]);
  });

  it("pages by cursor to the end, none repeated or skipped, each page reading about its rows", async () => {
    const email = freshAddress();
    const created: string[] = [];
    for (let i = 0; i < 12; i++) {
      const who = await caller();
      // Other addresses' invitations of the same organizations, which the inbox must not read.
      await seedPending(who.org, 50, Date.now(), Date.now() + 86_400_000);
      created.push((await createWithLink(who, i === 0 ? email : email.toUpperCase())).id);
    }
    const seen: string[] = [];
    let query = "?limit=5";
    for (let pages = 0; pages < 3; pages++) {
      const token = await inviteeToken(email);
      const { res, rowsRead } = await fetchCountingRowsRead({ token }, `/api/v1/me/invitations${query}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      expect(rowsRead, `page ${pages + 1}`).toBeLessThanOrEqual(6 + 1);
      seen.push(...page.data.map((i) => i.id));
      if (!page.meta.nextCursor) break;
      query = `?limit=5&cursor=${page.meta.nextCursor}`;
    }
    expect(seen).toEqual([...created].reverse());
  });

  it("refuses a cursor of another status, another address or altered, and bad input", async () => {
    const email = freshAddress();
    const admin = await caller();
    await createWithLink(admin, email);
    await createWithLink(await caller(), email);
    const { meta } = await inbox(email, "?limit=1");
    const cursor = meta.nextCursor ?? "";
    expect(cursor).not.toBe("");
    const refused = async (who: string, query: string, details: Record<string, string[]>) => {
      const res = await api(`/api/v1/me/invitations${query}`, { token: await inviteeToken(who) });
      await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", details);
    };
    await refused(email, `?status=DECLINED&cursor=${cursor}`, {
      cursor: [
        "This cursor belongs to a list with another sort or other filters: send the same sort and filters as the request that returned it",
      ],
    });
    const invalid = {
      cursor: ["Invalid cursor: pass meta.nextCursor of a list of this organization, unchanged"],
    };
    await refused(freshAddress(), `?cursor=${cursor}`, invalid);
    await refused(email, `?cursor=${cursor.slice(0, -2)}AA`, invalid);
    await refused(email, "?limit=0", { limit: ["Too small: expected number to be >=1"] });
    await refused(email, "?status=pending", {
      "status.0": ['Invalid option: expected one of "PENDING"|"ACCEPTED"|"REVOKED"|"EXPIRED"|"DECLINED"'],
    });
  });

  it("needs an invitee's token: 401 without one or without an email, 403 when it is unverified", async () => {
    await expectError(
      await api("/api/v1/me/invitations"),
      401,
      "UNAUTHORIZED",
      "Unauthorized",
      "Unauthorized",
    );
    const member = await caller();
    await expectError(
      await api("/api/v1/me/invitations", { token: member.token }),
      401,
      "UNAUTHORIZED",
      "Unauthorized",
      "Unauthorized",
    );
    const unverified = await inviteeToken(freshAddress(), { email_verified: false });
    await expectError(
      await api("/api/v1/me/invitations", { token: unverified }),
      403,
      "EMAIL_NOT_VERIFIED",
      "Forbidden",
      "Your email address is not verified",
    );
  });
});

describe("POST /api/v1/me/invitations/{id}/accept and /decline", () => {
  it("accepts: ACCEPTED stored with the caller as acceptedBy, published, and not again", async () => {
    const email = freshAddress();
    const admin = await caller();
    const created = await createWithLink(admin, email, { role: "ORG_ADMIN" });
    const res = await answer(email, created.id, "accept");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: created.id, status: "ACCEPTED", role: "ORG_ADMIN" });
    const row = await env.DB.prepare("SELECT status, accepted_by FROM invitations WHERE id = ?")
      .bind(created.id)
      .first();
    expect(row).toEqual({ status: "ACCEPTED", accepted_by: "user_invitee" });
    expect((await storedEvents(admin.org)).map((e) => e.type)).toEqual([
      "invitation.created",
      "invitation.accepted",
    ]);
    await expectError(
      await answer(email, created.id, "accept"),
      409,
      "INVITATION_ALREADY_ACCEPTED",
      "Conflict",
      "This invitation has already been accepted",
    );
    await expectError(
      await answer(email, created.id, "decline"),
      409,
      "INVITATION_ALREADY_ACCEPTED",
      "Conflict",
      "This invitation has already been accepted",
    );
  });

  it("declines: DECLINED stored with the caller as declinedBy; it cannot be accepted afterwards", async () => {
    const email = freshAddress();
    const admin = await caller();
    const created = await createWithLink(admin, email);
    const res = await answer(email, created.id, "decline");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: created.id, status: "DECLINED" });
    const row = await env.DB.prepare("SELECT status, declined_by FROM invitations WHERE id = ?")
      .bind(created.id)
      .first();
    expect(row).toEqual({ status: "DECLINED", declined_by: "user_invitee" });
    const gone = [410, "INVITATION_DECLINED", "Gone", "This invitation has been declined"] as const;
    await expectError(await answer(email, created.id, "accept"), ...gone);
    const byLink = await api("/api/v1/invitations/accept", {
      method: "POST",
      token: await inviteeToken(email),
      json: { token: created.token },
    });
    await expectError(byLink, ...gone);
  });

  it("is 404 for another address's invitation, as for an unknown id, and changes nothing", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, freshAddress());
    const before = await databaseSnapshot();
    for (const verb of ["accept", "decline"] as const) {
      for (const id of [created.id, crypto.randomUUID()]) {
        await expectError(
          await answer(freshAddress(), id, verb),
          404,
          "INVITATION_NOT_FOUND",
          "Not Found",
          "Invitation not found",
        );
      }
      const bad = await answer(freshAddress(), "not-a-uuid", verb);
      expect(bad.status).toBe(400);
    }
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("of racing accepts and declines, from the inbox and by link, exactly one wins", async () => {
    const email = freshAddress();
    const admin = await caller();
    for (let round = 0; round < 6; round++) {
      const created = await createWithLink(admin, email);
      const token = await inviteeToken(email);
      const responses = await Promise.all([
        answer(email, created.id, "decline"),
        answer(email, created.id, "accept"),
        api("/api/v1/invitations/decline", { method: "POST", json: { token: created.token } }),
        api("/api/v1/invitations/accept", { method: "POST", token, json: { token: created.token } }),
      ]);
      expect(responses.filter((res) => res.status === 200)).toHaveLength(1);
      const events = await storedEvents(admin.org);
      expect(events.filter((e) => e.invitation_id === created.id).map((e) => e.type)).toHaveLength(2);
    }
  });
});
