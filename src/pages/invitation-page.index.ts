import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { html } from "hono/html";
import { secureHeaders } from "hono/secure-headers";
import { hashInvitationToken, INVITE_PAGE_PATH } from "../invitations/invitation-token";
import { findInvitationByTokenHash } from "../invitations/invitations.repository";
import type { AppEnv } from "../lib/app-env";
import { readConfig } from "../lib/config";
import { d1Session } from "../lib/d1-session";
import { ApiError, logUnhandled } from "../lib/errors";
import { rateLimit } from "../lib/rate-limit";
import { InvitationPage } from "./invitation-page";
import { type InvitationPageView, invitationPageView, isWellFormedToken } from "./invitation-page.view";
import { PAGE_STYLE_PATH } from "./layout";
import { PAGE_STYLE } from "./page-style";

/*
 * The hosted invitation page, GET /invite?token=...: what emailed links open when INVITE_URL_BASE
 * is not set. It only reads (mail scanners open links), and its URL carries a link's secret: no
 * log line has the query (lib/errors.ts logs the path), no cache keeps the page, no referrer
 * carries the URL on, no search engine indexes it.
 */

/**
 * Only this Worker's stylesheet may load: no script at all, no inline style, no image, no form
 * (until the page has one), no frame around the page.
 */
const pageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    styleSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

/** Every answer of the page, its error pages too: never stored, never indexed. */
const privatePage = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
  c.header("X-Robots-Tag", "noindex, nofollow");
});

function render(c: Context<AppEnv>, view: InvitationPageView) {
  return c.html(html`<!DOCTYPE html>${InvitationPage({ view })}`, view.status);
}

/** The page, and its stylesheet. */
export const invitationPages = new Hono<AppEnv>({ strict: false });

invitationPages.get(INVITE_PAGE_PATH, privatePage, pageHeaders, rateLimit, d1Session, async (c) => {
  const token = c.req.query("token");
  if (!isWellFormedToken(token)) return render(c, { state: "malformed", status: 400 });
  const row = await findInvitationByTokenHash(c.get("db"), await hashInvitationToken(token));
  return render(c, invitationPageView(row, token, readConfig(c.env), Date.now()));
});

invitationPages.get(PAGE_STYLE_PATH, (c) =>
  c.body(PAGE_STYLE, 200, {
    "Content-Type": "text/css; charset=utf-8",
    // Unversioned: an hour is a fair trade between a deploy's new style and a request saved.
    "Cache-Control": "public, max-age=3600",
  }),
);

/** The rate limit and any bug answer with a page too, not with the API's JSON envelope. */
invitationPages.onError((err, c) => {
  if (err instanceof ApiError && err.code === "RATE_LIMITED") {
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    return render(c, { state: "rate_limited", status: 429 });
  }
  logUnhandled(c, err);
  return render(c, { state: "error", status: 500 });
});
