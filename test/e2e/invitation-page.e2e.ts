/**
 * End to end: the hosted invitation page in a real browser (Debian's Chromium, driven by
 * playwright-core) against `wrangler dev`. An invitation is created through the API, its link read
 * from the email wrangler dev's local email viewer shows, and opened: the page shows the
 * invitation, styled by its own stylesheet under its CSP with nothing blocked and no error, and its
 * Continue button reaches ACCEPT_URL (a page this test serves) with the token and no referrer.
 * Then the same with JavaScript off, and on a phone's screen; and its Decline button, with
 * JavaScript on and off. Saves screenshots to test/e2e/screenshots/. Run with `npm run test:e2e`.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { sign } from "hono/jwt";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { type DevServer, freePort, localD1, startDev } from "../../scripts/wrangler-dev.ts";
import { launchChromium } from "./browser.ts";
import { emailTo } from "./local-email.ts";

const JWT_SECRET = "e2e-secret-not-for-production-0123456789";
const SCREENSHOTS = path.join(import.meta.dirname, "screenshots");

/** What reached the app's accept page (ACCEPT_URL): its URL and headers. */
const arrivals: { url: URL; headers: IncomingHttpHeaders }[] = [];

let app: Server;
let appBase: string;
let dev: DevServer;
let browser: Browser;
let state: string;

before(async () => {
  const port = await freePort();
  appBase = `http://127.0.0.1:${port}`;
  app = createServer((req, res) => {
    arrivals.push({ url: new URL(req.url ?? "/", appBase), headers: req.headers });
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end('<!doctype html><html lang="en"><title>Sign in</title><h1>Sign in to accept</h1></html>');
  });
  await new Promise<void>((resolve) => app.listen(port, "127.0.0.1", resolve));

  state = mkdtempSync(path.join(tmpdir(), "invitations-e2e-"));
  await localD1(state).migrate();
  dev = await startDev({
    persistTo: state,
    vars: { JWT_SECRET, ACCEPT_URL: `${appBase}/accept?source=invitation` },
    readyPath: "/openapi.json",
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await dev?.stop();
  await new Promise((resolve) => app?.close(resolve));
  if (state) rmSync(state, { recursive: true, force: true });
});

/** "8 December 2026 at 14:20 UTC", as the page writes an expiry. */
const inWords = (iso: string) =>
  `${new Intl.DateTimeFormat("en-GB", { dateStyle: "long", timeStyle: "short", timeZone: "UTC" }).format(new Date(iso))} UTC`;

/**
 * Creates an invitation as an admin named Ada of Acme <Labs>; returns the link its email carries
 * and when it expires.
 */
async function emailedLink(to: string): Promise<{ link: string; expiresAt: string }> {
  const token = await sign(
    {
      sub: "e2e-admin",
      org_id: crypto.randomUUID(),
      role: "ORG_ADMIN",
      name: "Ada Lovelace",
      org_name: "Acme <Labs>",
      exp: Math.floor(Date.now() / 1000) + 600,
    },
    JWT_SECRET,
    "HS256",
  );
  const created = await fetch(`${dev.base}/api/v1/invitations`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ email: to, role: "OPERATOR" }),
  });
  assert.equal(created.status, 201);
  const { expiresAt } = (await created.json()) as { expiresAt: string };
  const { text } = await emailTo(dev.base, to);
  const link = text.split("\n").find((line) => line.startsWith(`${dev.base}/invite?token=`));
  assert.ok(link, `the email's text carries a link to the page:\n${text}`);
  return { link, expiresAt };
}

/**
 * A browser context that lets the page reach only the Worker and the app, and records what a
 * reader would not see: console errors and warnings (CSP violations among them), script errors,
 * failed requests, requests elsewhere, and `securitypolicyviolation` events (listened for by a
 * script the browser injects, which the page's CSP does not govern).
 */
async function watched(options: BrowserContextOptions = {}) {
  const context = await browser.newContext(options);
  const problems: string[] = [];
  const loaded: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === dev.base || url.origin === appBase) {
      loaded.push(url.pathname);
      return route.continue();
    }
    problems.push(`request elsewhere: ${url.href}`);
    return route.abort();
  });
  if (options.javaScriptEnabled !== false) {
    await context.addInitScript({
      content: `document.addEventListener("securitypolicyviolation", (event) => {
        console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
      });`,
    });
  }
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`failed: ${request.url()}`));
  return { context, page, problems, loaded };
}

/** The page's heading and label/value pairs, as the reader sees them. */
async function shown(page: Page) {
  const heading = await page.locator("h1").innerText();
  const details = await page.$$eval("dl > div", (rows) =>
    rows.map((row) => [
      row.querySelector("dt")?.textContent ?? "",
      row.querySelector("dd")?.textContent ?? "",
    ]),
  );
  return { heading, details: Object.fromEntries(details) };
}

/** Follows the Continue button and checks what the app's page received: the token, no referrer. */
async function continueToApp(page: Page, link: string) {
  const before = arrivals.length;
  await Promise.all([
    page.waitForURL(`${appBase}/accept**`),
    page.getByRole("link", { name: "Continue" }).click(),
  ]);
  assert.equal(await page.locator("h1").innerText(), "Sign in to accept");
  const arrival = arrivals[before];
  assert.ok(arrival, "the app's page was requested");
  assert.equal(arrival.url.pathname, "/accept");
  assert.equal(arrival.url.searchParams.get("source"), "invitation");
  assert.equal(arrival.url.searchParams.get("token"), new URL(link).searchParams.get("token"));
  assert.equal(arrival.headers.referer, undefined, "no Referer carries the page's URL on");
}

/**
 * Clicks Decline and checks the answer: the form's POST (the token in its body, not the URL)
 * answered 200 with the declined page, and the invitation now reads DECLINED through the API.
 */
async function declineOnPage(page: Page, link: string) {
  const [response] = await Promise.all([
    page.waitForResponse((res) => res.request().method() === "POST"),
    page.waitForURL(`${dev.base}/invite/decline`),
    page.getByRole("button", { name: "Decline" }).click(),
  ]);
  assert.equal(response.status(), 200);
  assert.equal(new URL(page.url()).search, "", "the token travels in the form's body only");
  // The page's no-referrer policy hides even its own origin: no Origin check could tell this post apart.
  assert.equal((await response.request().allHeaders()).origin, "null");
  assert.equal(await page.locator("h1").innerText(), "You declined the invitation");
  assert.equal(await page.getByRole("button").count(), 0);
  const token = new URL(link).searchParams.get("token") ?? "";
  const preview = await fetch(`${dev.base}/api/v1/invitations/lookup?token=${token}`);
  assert.equal(((await preview.json()) as { status: string }).status, "DECLINED");
}

/* Run in the page (as strings: this file is type-checked without the DOM's types). */
const STYLE_OF_BUTTON = `getComputedStyle(document.querySelector(".button")).backgroundColor`;
const PHONE_LAYOUT = `(() => {
  const buttons = [...document.querySelectorAll(".button")].map((button) => button.getBoundingClientRect());
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    buttons: buttons.map((button) => [button.width, button.height]),
    fontSize: Number.parseFloat(getComputedStyle(document.body).fontSize),
  };
})()`;

async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });
}

async function done(context: BrowserContext, problems: string[]) {
  await context.close();
  assert.deepEqual(problems, [], "CSP violations, console errors, page errors, failed or foreign requests");
}

test("the emailed link opens the page, styled under its CSP with nothing blocked, and Continue reaches the app with the token", async () => {
  const { link, expiresAt } = await emailedLink("grace@example.com");
  const { context, page, problems, loaded } = await watched({ viewport: { width: 1024, height: 800 } });
  const res = await page.goto(link);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()["content-security-policy"] ?? "", /^default-src 'none'; style-src 'self';/);
  assert.deepEqual(await shown(page), {
    heading: "Ada Lovelace has invited you to join Acme <Labs>",
    details: {
      Organization: "Acme <Labs>",
      Role: "Operator",
      "Invited by": "Ada Lovelace",
      "Sent to": "grace@example.com",
      Expires: inWords(expiresAt),
    },
  });
  assert.ok(loaded.includes("/invite/page.css"), "the stylesheet came from the Worker");
  // The stylesheet applied (a blocked one would leave the link a plain underlined link).
  assert.equal(await page.evaluate(STYLE_OF_BUTTON), "rgb(29, 78, 216)");
  await screenshot(page, "invitation-page.png");
  await continueToApp(page, link);
  await done(context, problems);
});

test("works with JavaScript off: the same page, and Continue is a plain link", async () => {
  const { link } = await emailedLink("nojs@example.com");
  const { context, page, problems } = await watched({ javaScriptEnabled: false });
  const res = await page.goto(link);
  assert.equal(res?.status(), 200);
  assert.equal((await shown(page)).heading, "Ada Lovelace has invited you to join Acme <Labs>");
  await continueToApp(page, link);
  await done(context, problems);
});

test("reads on a phone: one column, no sideways scrolling, full-width Continue and Decline buttons, text at least 16px", async () => {
  const { link } = await emailedLink("phone@example.com");
  const { context, page, problems } = await watched({
    viewport: { width: 320, height: 640 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  await page.goto(link);
  const layout = (await page.evaluate(PHONE_LAYOUT)) as {
    scrollWidth: number;
    clientWidth: number;
    buttons: [number, number][];
    fontSize: number;
  };
  assert.equal(layout.clientWidth, 320, "the viewport meta makes the layout as wide as the screen");
  assert.ok(layout.scrollWidth <= layout.clientWidth, `no sideways scrolling (${layout.scrollWidth}px)`);
  assert.equal(layout.buttons.length, 2, "Continue and Decline");
  for (const [width, height] of layout.buttons) {
    assert.ok(width >= 250, `each button spans the column (${width}px)`);
    assert.ok(height >= 44, `each button is a comfortable target (${height}px)`);
  }
  assert.ok(layout.fontSize >= 16, `body text is at least 16px (${layout.fontSize}px)`);
  await screenshot(page, "invitation-page-phone.png");
  await done(context, problems);
});

for (const javaScriptEnabled of [true, false]) {
  test(`Decline with JavaScript ${javaScriptEnabled ? "on" : "off"}: the form posts under the CSP, the page says so, and the link then shows the declined page`, async () => {
    const { link } = await emailedLink(`decline-${javaScriptEnabled ? "js" : "nojs"}@example.com`);
    const { context, page, problems } = await watched({ javaScriptEnabled });
    assert.equal((await page.goto(link))?.status(), 200);
    await declineOnPage(page, link);
    if (javaScriptEnabled) await screenshot(page, "invitation-page-declined.png");
    const again = await page.goto(link);
    assert.equal(again?.status(), 410);
    assert.equal(await page.locator("h1").innerText(), "This invitation has been declined");
    assert.equal(await page.getByRole("button").count(), 0);
    await done(
      context,
      problems.filter(
        (problem) => problem !== "Failed to load resource: the server responded with a status of 410 (Gone)",
      ),
    );
  });
}

test("a link that opens no invitation gets its own styled page and status, with nothing blocked", async () => {
  const { context, page, problems } = await watched();
  const res = await page.goto(`${dev.base}/invite?token=${"A".repeat(43)}`);
  assert.equal(res?.status(), 404);
  assert.equal(await page.locator("h1").innerText(), "This invitation link is not valid");
  assert.equal(await page.getByRole("link").count(), 0);
  // A 404 document logs "Failed to load resource" for itself; nothing else may complain.
  await done(
    context,
    problems.filter(
      (problem) =>
        problem !== "Failed to load resource: the server responded with a status of 404 (Not Found)",
    ),
  );
});
