import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import {
  acceptAs,
  api,
  type Caller,
  caller,
  createWithLink,
  DAY,
  databaseSnapshot,
  faultyD1,
  fetchWith,
  freezeClock,
  restoreAfterEach,
  runSweep,
  signToken,
} from "./helpers";
import { readPage } from "./html-page";

restoreAfterEach();

const ACCEPT_URL = "https://app.example.com/join?from=email";
const CSP =
  "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** An admin of a fresh organization whose token names them and the organization, as the email shows. */
async function namedAdmin(claims: Record<string, unknown> = { name: "Ada Lovelace", org_name: "Acme" }) {
  const org = crypto.randomUUID();
  const token = await signToken({ org, sub: "user_ada", claims });
  return { org, sub: "user_ada", role: "ORG_ADMIN", token } satisfies Caller;
}

/** Opens the invitation page for `token` through the Worker, ACCEPT_URL set unless told otherwise. */
function openPage(token: string, overrides: Partial<Env> = { ACCEPT_URL }, headers: HeadersInit = {}) {
  return fetchWith(overrides, `/invite?token=${encodeURIComponent(token)}`, { headers });
}

async function opened(token: string, overrides?: Partial<Env>) {
  const res = await openPage(token, overrides);
  return { res, page: await readPage(await res.text()) };
}

describe("GET /invite: a live invitation", () => {
  it("shows the organization, the role in words, the inviter, the address, the expiry, and Continue to ACCEPT_URL with the token", async () => {
    const at = freezeClock(Date.UTC(2026, 11, 1, 14, 20));
    const admin = await namedAdmin();
    const { token } = await createWithLink(admin, "grace@example.com", { role: "OPERATOR" });
    const { res, page } = await opened(token);

    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=UTF-8");
    expect(page.title).toBe("Invitation to join Acme");
    expect(page.headings).toEqual(["Ada Lovelace has invited you to join Acme"]);
    expect(page.details).toEqual({
      Organization: "Acme",
      Role: "Operator",
      "Invited by": "Ada Lovelace",
      "Sent to": "grace@example.com",
      Expires: "8 December 2026 at 14:20 UTC",
    });
    expect(at + 7 * DAY).toBe(Date.UTC(2026, 11, 8, 14, 20));
    expect(page.paragraphs).toContain("You are invited as an operator. Nothing happens until you accept.");
    expect(page.links).toEqual([
      {
        text: "Continue",
        href: `https://app.example.com/join?from=email&token=${token}`,
        rel: "noreferrer",
      },
    ]);
    expect(page.paragraphs).toContain("You will sign in as grace@example.com to accept the invitation.");
  });

  it("reads well without names: no organization or inviter rows, sentences that still make sense", async () => {
    const admin = await caller();
    const { token } = await createWithLink(admin, "someone@example.com");
    const { res, page } = await opened(token);
    expect(res.status).toBe(200);
    expect(page.headings).toEqual(["You have been invited to join an organization"]);
    expect(Object.keys(page.details)).toEqual(["Role", "Sent to", "Expires"]);
    expect(page.details.Role).toBe("Viewer");
  });

  it("without ACCEPT_URL shows the invitation with no button, and says it cannot be accepted here", async () => {
    const admin = await namedAdmin();
    const { token } = await createWithLink(admin, "grace@example.com");
    const { res, page } = await opened(token, { ACCEPT_URL: "" });
    expect(res.status).toBe(200);
    expect(page.links).toEqual([]);
    expect(page.paragraphs.join("\n")).toMatch(
      /This invitation cannot be accepted from this page: no sign-in page is set up for it\. Ask Ada Lovelace how to join; the invitation stays open until \d+ \w+ \d{4} at \d\d:\d\d UTC\./,
    );
  });

  it("escapes caller-supplied names: an organization or inviter name with markup is shown as text", async () => {
    const admin = await namedAdmin({
      name: `Eve <img src=x onerror="alert(1)">`,
      org_name: "Acme <script>alert(1)</script> & Co",
    });
    const { token } = await createWithLink(admin, "grace@example.com");
    const res = await openPage(token);
    const html = await res.text();
    const page = await readPage(html);
    expect(page.scripts).toBe(0);
    expect(html).not.toContain("<img");
    expect(html).toContain("Acme &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co");
    expect(page.details.Organization).toBe("Acme <script>alert(1)</script> & Co");
    expect(page.details["Invited by"]).toBe(`Eve <img src=x onerror="alert(1)">`);
  });
});

describe("GET /invite: links that no longer open an invitation, each with its own page and status", () => {
  it("an expired invitation: 410, when it expired and whom to ask, before and after the sweep stores it", async () => {
    const at = Date.UTC(2026, 10, 1, 9, 0);
    freezeClock(at);
    const admin = await namedAdmin();
    const { token } = await createWithLink(admin, "late@example.com", { expiresInDays: 1 });
    freezeClock(at + DAY);
    const due = await opened(token);
    await runSweep(at + DAY);
    const swept = await opened(token);
    for (const { res, page } of [due, swept]) {
      expect(res.status).toBe(410);
      expect(page.headings).toEqual(["This invitation has expired"]);
      expect(page.paragraphs).toEqual([
        "The invitation to join Acme expired on 2 November 2026 at 09:00 UTC. Ask Ada Lovelace to send you a new one.",
      ]);
      expect(page.links).toEqual([]);
    }
  });

  it("a revoked invitation: 410, withdrawn, no button", async () => {
    const admin = await namedAdmin();
    const created = await createWithLink(admin, "gone@example.com");
    await api(`/api/v1/invitations/${created.id}`, { method: "DELETE", token: admin.token });
    const { res, page } = await opened(created.token);
    expect(res.status).toBe(410);
    expect(page.headings).toEqual(["This invitation has been withdrawn"]);
    expect(page.paragraphs).toEqual([
      "The invitation to join Acme was revoked, so this link no longer works. If you think this is a mistake, contact Ada Lovelace.",
    ]);
    expect(page.links).toEqual([]);
  });

  it("an accepted invitation: 409, as accepting it again would answer (INVITATION_ALREADY_ACCEPTED), with when", async () => {
    const admin = await namedAdmin();
    const created = await createWithLink(admin, "joined@example.com");
    const accepted = await acceptAs("joined@example.com", created.token);
    const { res, page } = await opened(created.token);
    expect(res.status).toBe(409);
    expect(page.headings).toEqual(["This invitation has already been accepted"]);
    const when = new Date(String(accepted.acceptedAt));
    const day = `${when.getUTCDate()} ${when.toLocaleString("en-GB", { month: "long", timeZone: "UTC" })} ${when.getUTCFullYear()}`;
    expect(page.paragraphs[0]).toContain(`The invitation to join Acme was accepted on ${day} at `);
    expect(page.links).toEqual([]);
  });

  it("an unknown link, or one a resend replaced: 404, and why a link may not work", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "again@example.com");
    const resent = await fetchWith(
      { RESEND_COOLDOWN_SECONDS: "0" },
      `/api/v1/invitations/${created.id}/resend`,
      { method: "POST", headers: { Authorization: `Bearer ${admin.token}` } },
    );
    expect(resent.status).toBe(200);
    for (const token of [created.token, "A".repeat(43)]) {
      const { res, page } = await opened(token);
      expect(res.status).toBe(404);
      expect(page.headings).toEqual(["This invitation link is not valid"]);
      expect(page.paragraphs[0]).toContain("only the newest email's link works");
    }
    const newest = (await resent.json()) as { token: string };
    expect((await openPage(newest.token)).status).toBe(200);
  });

  it("a missing or malformed token: 400, the link is incomplete (never a database read)", async () => {
    for (const path of [
      "/invite",
      "/invite?token=",
      "/invite?token=abc",
      `/invite?token=${"A".repeat(42)}!`,
    ]) {
      const res = await fetchWith({ ACCEPT_URL }, path);
      expect(res.status, path).toBe(400);
      const page = await readPage(await res.text());
      expect(page.headings).toEqual(["This invitation link is incomplete"]);
    }
  });
});

describe("GET /invite: what opening it does and does not do", () => {
  it("changes nothing: no stored row, counter, event or key differs after opening every state's page", async () => {
    const admin = await namedAdmin();
    const live = await createWithLink(admin, "live@example.com");
    const revoked = await createWithLink(admin, "revoked@example.com");
    await api(`/api/v1/invitations/${revoked.id}`, { method: "DELETE", token: admin.token });
    const before = await databaseSnapshot();
    for (const token of [live.token, revoked.token, "B".repeat(43), "short"]) {
      await openPage(token);
      await openPage(token, { ACCEPT_URL: "" });
    }
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("is private on every state: no-store, noindex (header and meta), no referrer, a CSP allowing only its stylesheet and forms to itself", async () => {
    const admin = await caller();
    const { token } = await createWithLink(admin, "private@example.com");
    const live = `/invite?token=${token}`;
    for (const path of [live, `/invite?token=${"C".repeat(43)}`, "/invite?token=x"]) {
      const res = await fetchWith({ ACCEPT_URL }, path);
      expect(res.headers.get("Cache-Control"), path).toBe("no-store");
      expect(res.headers.get("X-Robots-Tag"), path).toBe("noindex, nofollow");
      expect(res.headers.get("Referrer-Policy"), path).toBe("no-referrer");
      expect(res.headers.get("Content-Security-Policy"), path).toBe(CSP);
      expect(res.headers.get("X-Content-Type-Options"), path).toBe("nosniff");
      const page = await readPage(await res.text());
      expect(page).toMatchObject({
        lang: "en",
        robots: "noindex, nofollow",
        viewport: "width=device-width, initial-scale=1",
        stylesheets: ["/invite/page.css"],
        scripts: 0,
        inlineStyles: 0,
        // The live page's decline form, which the CSP lets post to this Worker only.
        forms: path === live ? 1 : 0,
      });
      expect(page.headings).toHaveLength(1);
    }
  });

  it("serves its stylesheet from the Worker, as CSS", async () => {
    const res = await api("/invite/page.css");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
    const css = await res.text();
    expect(css).toContain("@media (max-width: 30rem)");
    expect(css).toContain("prefers-color-scheme: dark");
  });

  it("answers a client over the preview's per-IP read limit with a 429 page and Retry-After", async () => {
    const tight = { ACCEPT_URL, RATE_LIMIT_READS: env.TEST_RATE_LIMIT_READS };
    const ip = `198.51.100.${Math.floor(Math.random() * 250)}`;
    const open = () => openPage("D".repeat(43), tight, { "CF-Connecting-IP": ip });
    for (let i = 0; i < 5; i++) expect((await open()).status).toBe(404);
    const limited = await open();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect(limited.headers.get("Cache-Control")).toBe("no-store");
    expect((await readPage(await limited.text())).headings).toEqual(["Too many requests"]);
  });

  it("answers a failing database with a 500 page, and logs the path with the request id, never the token", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
    const admin = await caller();
    const { token } = await createWithLink(admin, "broken@example.com");
    const { db, log } = faultyD1(0);
    const res = await openPage(token, { ACCEPT_URL, DB: db });
    expect(log.injected).toMatch(/^select .* from "invitations"/);
    expect(res.status).toBe(500);
    expect(res.headers.get("Content-Security-Policy")).toBe(CSP);
    expect((await readPage(await res.text())).headings).toEqual(["Something went wrong"]);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: "error",
        message: "Unhandled error",
        requestId: res.headers.get("X-Request-Id"),
        method: "GET",
        path: "/invite",
      }),
    ]);
    expect(lines.join("\n")).not.toContain(token);
  });
});

describe("ACCEPT_URL", () => {
  it("must be https, or http on localhost: the button's URL carries the link's secret", async () => {
    const admin = await caller();
    const { token } = await createWithLink(admin, "config@example.com");
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await openPage(token, { ACCEPT_URL: "http://app.example.com/join" })).status).toBe(500);
    expect((await openPage(token, { ACCEPT_URL: "not a url" })).status).toBe(500);
    const local = await opened(token, { ACCEPT_URL: "http://localhost:3000/join" });
    expect(local.res.status).toBe(200);
    expect(local.page.links.map((link) => link.href)).toEqual([`http://localhost:3000/join?token=${token}`]);
  });
});
