import { describe, expect, it } from "vitest";
import { api, caller, databaseSnapshot, fetchWith, restoreAfterEach, signToken } from "./helpers";
import { readPage } from "./html-page";

/**
 * What an invitation's own fields change on the hosted page: its public metadata, a short list
 * under its own heading, each value in words, bounded and escaped (the private metadata never
 * appears); and its redirectUrl, where Continue goes before ACCEPT_URL.
 */

restoreAfterEach();

const ACCEPT_URL = "https://app.example.com/join";

/** Creates an invitation with `metadata`, as an admin of Acme unless `org_name` is left out; returns its token. */
async function invitedWith(
  metadata: Record<string, unknown>,
  claims: Record<string, unknown> = { org_name: "Acme" },
) {
  const org = crypto.randomUUID();
  const token = await signToken({ org, sub: "user_ada", claims });
  const res = await api("/api/v1/invitations", {
    method: "POST",
    token,
    json: { email: "grace@example.com", ...metadata },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function opened(token: string, overrides: Partial<Env> = {}) {
  const res = await fetchWith({ ACCEPT_URL, ...overrides }, `/invite?token=${token}`);
  const html = await res.text();
  return { res, html, page: await readPage(html) };
}

describe("GET /invite: public metadata", () => {
  it("shows it under 'Details from Acme': text, numbers, Yes/No, lists joined; null, empty and nested left out; long values cut; markup escaped; never the private metadata", async () => {
    const token = await invitedWith({
      publicMetadata: {
        Team: "Research & <Development>",
        Seats: 3,
        SSO: true,
        Trial: false,
        Projects: ["Apollo", 7, null, "Gemini"],
        Empty: "   ",
        Nothing: null,
        "No list": [],
        Billing: { plan: "pro" },
        Motto: "x".repeat(300),
        Smiles: "😀".repeat(250),
        "<b>Key</b>": `<img src=x onerror="alert(1)">`,
        Direction: "\u202Etxet",
      },
      privateMetadata: { internalNote: "PRIVATE-MARKER-31337" },
    });
    const before = await databaseSnapshot();
    const { res, html, page } = await opened(token);

    expect(res.status).toBe(200);
    expect(page.headings).toEqual(["You have been invited to join Acme", "Details from Acme"]);
    expect(page.lists).toHaveLength(2);
    expect(page.details).toMatchObject({ Organization: "Acme", "Sent to": "grace@example.com" });
    expect(Object.entries(page.lists[1] ?? {})).toEqual([
      ["Team", "Research & <Development>"],
      ["Seats", "3"],
      ["SSO", "Yes"],
      ["Trial", "No"],
      ["Projects", "Apollo, 7, Gemini"],
      ["Motto", `${"x".repeat(199)}…`],
      ["Smiles", `${"😀".repeat(199)}…`],
      ["<b>Key</b>", `<img src=x onerror="alert(1)">`],
      ["Direction", "\u202Etxet"],
    ]);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
    expect(html).toContain("&lt;b&gt;Key&lt;/b&gt;");
    // Each value is isolated, so right-to-left overrides cannot reorder the text around it.
    expect(html).toContain("<dd><bdi>\u202Etxet</bdi></dd>");
    expect(page.scripts).toBe(0);
    expect(html).not.toContain("PRIVATE-MARKER");
    expect(html).not.toContain("internalNote");
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("without an organization name, the heading says 'the organization'", async () => {
    const token = await invitedWith({ publicMetadata: { Team: "Research" } }, {});
    const { page } = await opened(token);
    expect(page.headings).toEqual([
      "You have been invited to join an organization",
      "Details from the organization",
    ]);
    expect(page.lists[1]).toEqual({ Team: "Research" });
  });

  it("shows no section when nothing public reads as words, and none on the pages of links that no longer open it", async () => {
    const quiet = await invitedWith({ publicMetadata: { Nothing: null, Billing: { plan: "pro" } } });
    expect((await opened(quiet)).page.headings).toEqual(["You have been invited to join Acme"]);
    expect((await opened(quiet)).page.lists).toHaveLength(1);

    const token = await invitedWith({ publicMetadata: { Team: "Research" } });
    expect((await api("/api/v1/invitations/decline", { method: "POST", json: { token } })).status).toBe(200);
    const declined = await opened(token);
    expect(declined.res.status).toBe(410);
    expect(declined.page.headings).toEqual(["This invitation has been declined"]);
    expect(declined.html).not.toContain("Research");
  });

  it("follows a change of the public metadata (PATCH) on the next opening", async () => {
    const admin = await caller();
    const created = await api("/api/v1/invitations", {
      method: "POST",
      token: admin.token,
      json: { email: "grace@example.com", publicMetadata: { Team: "Research" } },
    });
    const { id, token } = (await created.json()) as { id: string; token: string };
    const patched = await api(`/api/v1/invitations/${id}`, {
      method: "PATCH",
      token: admin.token,
      json: { publicMetadata: { Team: "Design" } },
    });
    expect(patched.status).toBe(200);
    expect((await opened(token)).page.lists[1]).toEqual({ Team: "Design" });
  });
});

describe("GET /invite: Continue and the invitation's redirectUrl", () => {
  const redirectUrl = "https://app.example.com/welcome?plan=pro";
  const continueLinks = async (token: string, overrides: Partial<Env> = {}) =>
    (await opened(token, overrides)).page.links.map(({ text, href, rel }) => ({ text, href, rel }));

  it("goes to the invitation's redirectUrl with the token, before ACCEPT_URL, and with ACCEPT_URL unset too", async () => {
    const token = await invitedWith({ redirectUrl });
    const expected = [{ text: "Continue", href: `${redirectUrl}&token=${token}`, rel: "noreferrer" }];
    expect(await continueLinks(token)).toEqual(expected);
    expect(await continueLinks(token, { ACCEPT_URL: "" })).toEqual(expected);
  });

  it("goes to ACCEPT_URL for an invitation without one", async () => {
    const token = await invitedWith({});
    expect((await continueLinks(token)).map((link) => link.href)).toEqual([`${ACCEPT_URL}?token=${token}`]);
  });

  it("passes over a redirectUrl whose origin REDIRECT_ORIGINS no longer allows: ACCEPT_URL, or no Continue", async () => {
    const token = await invitedWith({ redirectUrl });
    const withdrawn = { REDIRECT_ORIGINS: "https://other.example.com" };
    expect((await continueLinks(token, withdrawn)).map((link) => link.href)).toEqual([
      `${ACCEPT_URL}?token=${token}`,
    ]);
    const none = await opened(token, { ...withdrawn, ACCEPT_URL: "" });
    expect(none.page.links).toEqual([]);
    expect(none.html).not.toContain("app.example.com/welcome");
    expect(none.page.formParts.map((form) => form.buttons)).toEqual([["Decline"]]);
  });
});
