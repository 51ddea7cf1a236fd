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
import type { Browser } from "playwright-core";
import { type DevServer, localD1, startDev } from "../../scripts/wrangler-dev.ts";
import { launchChromium } from "./browser.ts";

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
    vars: { JWT_SECRET: "e2e-secret-not-for-production-0123456789" },
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
