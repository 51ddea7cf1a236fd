import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  acceptAs,
  api,
  type Caller,
  createWithLink,
  databaseSnapshot,
  fetchWith,
  freezeClock,
  inviteeToken,
  restoreAfterEach,
  signToken,
  storedEvents,
  storedRows,
} from "./helpers";
import { readPage } from "./html-page";
import { jobsQueue, recordingQueues, runJobsBatch } from "./queues";

/**
 * The hosted page's Decline button: a plain form on a live invitation's page that posts the token
 * to POST /invite/decline, which declines as the API does and answers a page.
 */

restoreAfterEach();

const ACCEPT_URL = "https://app.example.com/join";

async function namedAdmin(): Promise<Caller> {
  const org = crypto.randomUUID();
  const token = await signToken({ org, sub: "user_ada", claims: { name: "Ada Lovelace", org_name: "Acme" } });
  return { org, sub: "user_ada", role: "ORG_ADMIN", token };
}

function openPage(token: string, overrides: Partial<Env> = { ACCEPT_URL }) {
  return fetchWith(overrides, `/invite?token=${encodeURIComponent(token)}`);
}

/** Sends the decline form as a browser does (application/x-www-form-urlencoded). */
function postDecline(
  fields: Record<string, string>,
  overrides: Partial<Env> = {},
  headers: Record<string, string> = {},
) {
  return fetchWith(overrides, "/invite/decline", {
    method: "POST",
    body: new URLSearchParams(fields),
    headers,
  });
}

async function read(res: Response) {
  return readPage(await res.text());
}

describe("a live invitation's page offers Decline", () => {
  it("next to Continue: a form posting the token in a hidden field to /invite/decline, and a sentence on what it does", async () => {
    const admin = await namedAdmin();
    const { token } = await createWithLink(admin, "grace@example.com");
    const page = await read(await openPage(token));
    expect(page.links.map((link) => link.text)).toEqual(["Continue"]);
    expect(page.formParts).toEqual([
      { method: "post", action: "/invite/decline", fields: { token }, buttons: ["Decline"] },
    ]);
    expect(page.paragraphs).toContain(
      "Declining is final: the link stops working, and Acme can see that you said no.",
    );
  });

  it("without ACCEPT_URL too: no Continue, but Decline", async () => {
    const admin = await namedAdmin();
    const { token } = await createWithLink(admin, "grace@example.com");
    const page = await read(await openPage(token, { ACCEPT_URL: "" }));
    expect(page.links).toEqual([]);
    expect(page.formParts.map((form) => form.buttons)).toEqual([["Decline"]]);
  });
});

describe("POST /invite/decline", () => {
  it("declines (ACCEPT_URL unset): 'You declined', DECLINED stored, invitation.declined published, the address free again", async () => {
    const admin = await namedAdmin();
    const created = await createWithLink(admin, "grace@example.com", { role: "OPERATOR" });
    const now = freezeClock(Date.parse(created.createdAt) + 5_000);
    const jobs = jobsQueue();

    const res = await postDecline({ token: created.token }, { ACCEPT_URL: "", INVITATION_JOBS: jobs.queue });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Content-Security-Policy")).toContain("form-action 'self'");
    const page = await read(res);
    expect(page.title).toBe("You declined the invitation");
    expect(page.headings).toEqual(["You declined the invitation"]);
    expect(page.paragraphs).toEqual([
      "You declined the invitation to join Acme, and this link no longer works. Nothing else is needed; you can close this page. If you change your mind, ask Ada Lovelace to invite you again.",
    ]);
    expect({ links: page.links, forms: page.forms }).toEqual({ links: [], forms: 0 });

    const [row] = await storedRows(admin.org);
    expect(row).toMatchObject({ id: created.id, status: "DECLINED", updated_at: now });
    const stored = await env.DB.prepare("SELECT declined_at, declined_by FROM invitations WHERE id = ?")
      .bind(created.id)
      .first();
    expect(stored).toEqual({ declined_at: now, declined_by: null });

    // The same event as the API's decline, and its publication asked for once the page answered.
    const events = await storedEvents(admin.org);
    expect(events.map((event) => event.type)).toEqual(["invitation.created", "invitation.declined"]);
    expect(events[1]?.invitation).toMatchObject({ status: "DECLINED", declinedAt: now });
    expect(jobs.sent).toEqual([{ kind: "publish" }]);
    const { queues, sent } = recordingQueues();
    await runJobsBatch(jobs.sent, {
      INVITATION_EVENTS: queues.events,
      INVITATION_EMAILS: queues.emails,
      INVITATION_JOBS: jobsQueue().queue,
    });
    expect(sent.filter((event) => event.organizationId === admin.org).map((event) => event.type)).toEqual([
      "invitation.created",
      "invitation.declined",
    ]);

    const again = await createWithLink(admin, "grace@example.com");
    expect(again.status).toBe("PENDING");
  });

  it("a second POST, and opening the link, show the declined page: 410, when, no button, nothing changed", async () => {
    const admin = await namedAdmin();
    const created = await createWithLink(admin, "grace@example.com");
    freezeClock(Date.UTC(2026, 11, 2, 9, 30));
    expect((await postDecline({ token: created.token })).status).toBe(200);
    const before = await databaseSnapshot();
    for (const res of [await postDecline({ token: created.token }), await openPage(created.token)]) {
      expect(res.status).toBe(410);
      const page = await read(res);
      expect(page.headings).toEqual(["This invitation has been declined"]);
      expect(page.paragraphs).toEqual([
        "The invitation to join Acme was declined on 2 December 2026 at 09:30 UTC, so this link no longer works. If you change your mind, ask Ada Lovelace to invite you again.",
      ]);
      expect({ links: page.links, forms: page.forms }).toEqual({ links: [], forms: 0 });
    }
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("that finds the invitation answered shows the state that won, with accept's status: accepted 409, revoked 410, expired 410, unknown 404", async () => {
    const admin = await namedAdmin();
    const accepted = await createWithLink(admin, "a@example.com");
    const revoked = await createWithLink(admin, "r@example.com");
    const expiring = await createWithLink(admin, "e@example.com", { expiresInDays: 1 });
    await acceptAs("a@example.com", accepted.token);
    await api(`/api/v1/invitations/${revoked.id}`, { method: "DELETE", token: admin.token });
    freezeClock(Date.parse(expiring.expiresAt));
    const before = await databaseSnapshot();
    const cases: [string, number, string][] = [
      [accepted.token, 409, "This invitation has already been accepted"],
      [revoked.token, 410, "This invitation has been withdrawn"],
      [expiring.token, 410, "This invitation has expired"],
      ["E".repeat(43), 404, "This invitation link is not valid"],
    ];
    for (const [token, status, heading] of cases) {
      const res = await postDecline({ token });
      expect(res.status, heading).toBe(status);
      expect((await read(res)).headings).toEqual([heading]);
    }
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("races an accept and the API's decline: exactly one wins, and the page shows what won", async () => {
    const admin = await namedAdmin();
    for (let round = 0; round < 6; round++) {
      const email = `race-${round}@example.com`;
      const created = await createWithLink(admin, email);
      const invitee = await inviteeToken(email);
      const sends: [string, () => Promise<Response>][] = [
        ["page", () => postDecline({ token: created.token })],
        [
          "accept",
          () =>
            api("/api/v1/invitations/accept", {
              method: "POST",
              token: invitee,
              json: { token: created.token },
            }),
        ],
        [
          "decline",
          () => api("/api/v1/invitations/decline", { method: "POST", json: { token: created.token } }),
        ],
      ];
      // Each round starts them in another order.
      const order = [...sends.slice(round % 3), ...sends.slice(0, round % 3)];
      const answered = new Map(
        await Promise.all(order.map(async ([name, send]) => [name, await send()] as const)),
      );
      const status = (name: string) => answered.get(name)?.status;
      const page = await read(answered.get("page") as Response);
      expect(["page", "accept", "decline"].filter((name) => status(name) === 200)).toHaveLength(1);
      const row = await env.DB.prepare("SELECT status FROM invitations WHERE id = ?")
        .bind(created.id)
        .first();
      if (status("accept") === 200) {
        expect(row).toEqual({ status: "ACCEPTED" });
        expect([status("page"), page.headings]).toEqual([409, ["This invitation has already been accepted"]]);
      } else {
        expect(row).toEqual({ status: "DECLINED" });
        expect([status("page"), page.headings]).toEqual(
          status("page") === 200
            ? [200, ["You declined the invitation"]]
            : [410, ["This invitation has been declined"]],
        );
      }
    }
    const events = await storedEvents(admin.org);
    expect(events.filter((event) => event.type !== "invitation.created")).toHaveLength(6);
  });

  it("answers a missing or malformed token, or a body that is not the form, with the incomplete-link page (400), and an oversized one with 413, changing nothing", async () => {
    const admin = await namedAdmin();
    const { token } = await createWithLink(admin, "grace@example.com");
    const before = await databaseSnapshot();
    const bad: [RequestInit, number, string][] = [
      [{ body: new URLSearchParams({}) }, 400, "This invitation link is incomplete"],
      [{ body: new URLSearchParams({ token: "abc" }) }, 400, "This invitation link is incomplete"],
      [{ body: new URLSearchParams({ token: `${token}!` }) }, 400, "This invitation link is incomplete"],
      [
        { body: JSON.stringify({ token }), headers: { "Content-Type": "application/json" } },
        400,
        "This invitation link is incomplete",
      ],
      [{ body: new URLSearchParams({ token, pad: "x".repeat(2000) }) }, 413, "This request is too large"],
    ];
    for (const [init, status, heading] of bad) {
      const res = await fetchWith({}, "/invite/decline", { method: "POST", ...init });
      expect(res.status, heading).toBe(status);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect((await read(res)).headings).toEqual([heading]);
    }
    expect(await databaseSnapshot()).toEqual(before);
    expect((await openPage(token)).status).toBe(200);
  });

  it("is rate-limited per client IP as a write, like the API's decline: a 429 page with Retry-After", async () => {
    const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
    const tight = { RATE_LIMIT_WRITES: env.TEST_RATE_LIMIT_WRITES };
    const send = () => postDecline({ token: "F".repeat(43) }, tight, { "CF-Connecting-IP": ip });
    for (let i = 0; i < 2; i++) expect((await send()).status).toBe(404);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect((await read(limited)).headings).toEqual(["Too many requests"]);
  });

  it("logs the decline with ids only: no line carries the token or the address", async () => {
    const lines: string[] = [];
    const record = (line: unknown) => void lines.push(String(line));
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation(record);
    }
    const admin = await namedAdmin();
    const created = await createWithLink(admin, "private.person@example.com");
    lines.length = 0;
    expect((await postDecline({ token: created.token })).status).toBe(200);
    expect((await postDecline({ token: created.token })).status).toBe(410);
    const declined = lines
      .map((line) => JSON.parse(line))
      .filter((line) => line.message !== "Invitation created");
    expect(declined).toContainEqual(
      expect.objectContaining({
        level: "info",
        message: "Invitation declined",
        invitationId: created.id,
        organizationId: admin.org,
      }),
    );
    expect(lines.join("\n")).not.toContain(created.token);
    expect(lines.join("\n")).not.toContain("private.person");
  });
});
