/**
 * End to end: /docs in a real browser (Debian's Chromium, driven by playwright-core) against
 * `wrangler dev`, with every request to another origin refused. The page must render the
 * API's operations from /openapi.json using only what this Worker serves, under its
 * Content-Security-Policy, with no error in the console. Saves a screenshot to
 * test/e2e/screenshots/docs.png. Run with `npm run test:e2e`; fails, saying why, when Chromium
 * is not installed.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { sign } from "hono/jwt";
import type { Browser, Page } from "playwright-core";
import { type DevServer, localD1, startDev } from "../../scripts/wrangler-dev.ts";
import { launchChromium } from "./browser.ts";

const JWT_SECRET = "e2e-secret-not-for-production-0123456789";
const SCREENSHOTS = path.join(import.meta.dirname, "screenshots");

let dev: DevServer;
let browser: Browser;
let state: string;

before(async () => {
  // A database of its own, so the run neither needs nor touches the one `npm run dev` uses.
  state = mkdtempSync(path.join(tmpdir(), "invitations-e2e-"));
  await localD1(state).migrate();
  dev = await startDev({
    persistTo: state,
    vars: { JWT_SECRET },
    readyPath: "/openapi.json",
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await dev?.stop();
  if (state) rmSync(state, { recursive: true, force: true });
});

test("/docs renders the API's operations with nothing from another origin, no CSP violation and no error", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1600 } });
  const page = await context.newPage();
  const elsewhere: string[] = [];
  const loaded: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === dev.base) {
      loaded.push(url.pathname);
      return route.continue();
    }
    elsewhere.push(url.href);
    return route.abort();
  });
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));

  const res = await page.goto(`${dev.base}/docs`);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()["content-security-policy"] ?? "", /script-src 'self'/);
  await page.waitForSelector(".opblock-summary-path", { timeout: 30_000 });

  const operations = await page.$$eval(".opblock-summary", (blocks) =>
    blocks.map((block) => {
      const method = block.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "";
      const path = block.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
      return `${method} ${path}`;
    }),
  );
  for (const core of [
    "GET /api/v1/invitations",
    "POST /api/v1/invitations",
    "DELETE /api/v1/invitations/{id}",
  ]) {
    assert.ok(operations.includes(core), `${core} is rendered (rendered: ${operations.join(", ")})`);
  }

  // Opening an operation shows its request body schema: the page is working, not only drawn.
  await page.click('.opblock-post .opblock-summary-path[data-path="/api/v1/invitations"]');
  await page.waitForSelector(".opblock-post.is-open .opblock-section-request-body", { timeout: 10_000 });

  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, "docs.png"), fullPage: false });

  assert.deepEqual(elsewhere, [], "requests to other origins");
  for (const file of ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/openapi.json"]) {
    assert.ok(loaded.includes(file), `${file} was loaded from the Worker`);
  }
  assert.deepEqual(problems, [], "console errors, warnings and CSP violations");
  await context.close();
});

/** Clicks "Try it out" then "Execute" on the open operation; its live answer's status and body. */
async function tryItOut(page: Page, block: string, edit?: (block: string) => Promise<void>) {
  const button = `${block} .try-out__btn`;
  await page.waitForSelector(button, { timeout: 10_000 });
  // Once clicked, the button says "Cancel" (the operation stays in "Try it out" mode).
  if ((await page.textContent(button))?.includes("Try it out")) await page.click(button);
  await edit?.(block);
  await page.click(`${block} .execute`);
  const status = `${block} .live-responses-table tbody .response-col_status`;
  await page.waitForSelector(status, { timeout: 20_000 });
  // The cell may carry a label before the number (e.g. "Undocumented"): take the status itself.
  const text = (await page.textContent(status))?.match(/\d{3}/)?.[0] ?? "";
  const body =
    (await page.textContent(`${block} .live-responses-table tbody .response-col_description pre`)) ?? "";
  const url = (await page.textContent(`${block} .request-url pre`)) ?? "";
  // The next Execute replaces this answer: wait for it to go first.
  await page.click(`${block} .btn-clear`);
  return { status: Number.parseInt(text, 10), body: JSON.parse(body) as Record<string, unknown>, url };
}

test('"Try it out" as a new user clicks it: list, then create twice, with nothing filled in but the token and the emails', async () => {
  const org = crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const token = await sign(
    { sub: "user_docs", org_id: org, role: "ORG_ADMIN", iat: now, exp: now + 3600 },
    JWT_SECRET,
    "HS256",
  );
  // The organization already has one invitation: the list must show it.
  const seeded = await fetch(`${dev.base}/api/v1/invitations`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ email: "seeded@example.com", sendEmail: false }),
  });
  assert.equal(seeded.status, 201);

  const context = await browser.newContext({ viewport: { width: 1280, height: 1600 } });
  const page = await context.newPage();
  await page.goto(`${dev.base}/docs`);
  await page.waitForSelector(".btn.authorize", { timeout: 30_000 });
  await page.click(".btn.authorize");
  await page.fill(".modal-ux input", token);
  await page.click(".modal-ux .auth-btn-wrapper .authorize");
  await page.click(".modal-ux .btn-done");

  const list = ".opblock-get:has(.opblock-summary-path[data-path='/api/v1/invitations'])";
  await page.click(`${list} .opblock-summary`);
  const listed = await tryItOut(page, list);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.deepEqual(
    (listed.body.data as { email: string }[]).map((invitation) => invitation.email),
    ["seeded@example.com"],
  );
  assert.doesNotMatch(listed.url, /email=|invitedBy=/, "no filter is pre-filled");

  const create = ".opblock-post:has(.opblock-summary-path[data-path='/api/v1/invitations'])";
  await page.click(`${create} .opblock-summary`);
  for (const email of ["first@example.com", "second@example.com"]) {
    // The pre-filled body, with only its address changed: the Idempotency-Key field stays empty.
    const created = await tryItOut(page, create, async (block) => {
      const textarea = `${block} textarea.body-param__text`;
      const example = JSON.parse(await page.inputValue(textarea)) as Record<string, unknown>;
      await page.fill(textarea, JSON.stringify({ ...example, email }, null, 2));
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.email, email);
  }
  await context.close();
});
