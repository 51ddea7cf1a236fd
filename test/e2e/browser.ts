/**
 * Debian's Chromium for the browser tests, driven by playwright-core: one way to find and start
 * it, and the clear failure when it is not installed.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Chromium, headless, quiet on a closed network; throws saying how to install it when missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}, so the browser test cannot run: install it with ` +
        "`sudo apt-get install chromium` (Debian), or set CHROMIUM_PATH to a Chromium or Chrome binary.",
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking switches Chromium keeps calling home, which a closed
    // network refuses; --no-sandbox because CI runs as root.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
