import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { html } from "hono/html";
import { secureHeaders } from "hono/secure-headers";
import { publishAfterWrites } from "../events/publisher";
import { hashInvitationToken, INVITE_PAGE_PATH } from "../invitations/invitation-token";
import { audit } from "../invitations/invitations.handlers";
import { findInvitationByTokenHash } from "../invitations/invitations.repository";
import { declineByToken } from "../invitations/invitee-actions";
import type { AppEnv } from "../lib/app-env";
import { readConfig } from "../lib/config";
import { d1Session } from "../lib/d1-session";
import { ApiError, logUnhandled } from "../lib/errors";
import { rateLimit } from "../lib/rate-limit";
import { InvitationPage } from "./invitation-page";
import {
  DECLINE_PATH,
  type InvitationPageView,
  invitationPageView,
  isWellFormedToken,
  youDeclinedView,
} from "./invitation-page.view";
import { PAGE_STYLE_PATH } from "./layout";
import { PAGE_STYLE } from "./page-style";

/*
 * The hosted invitation page, GET /invite?token=...: what emailed links open when INVITE_URL_BASE
 * is not set. Opening it only reads (mail scanners open links), and its URL carries a link's
 * secret: no log line has the query (lib/errors.ts logs the path), no cache keeps the page, no
 * referrer carries the URL on, no search engine indexes it. Its Decline form posts the token to
 * POST /invite/decline, which declines as the API does (invitee-actions.ts) and answers a page.
 */

/**
 * Only this Worker's stylesheet may load: no script at all, no inline style, no image, no frame
 * around the page; a form may post only to this Worker (the decline form).
 */
const pageHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    styleSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

/** The decline form sends one 43-character token; anything much larger is not that form. */
export const DECLINE_FORM_MAX_BYTES = 1024;

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

/**
 * The decline form: declines the link's invitation with the API's own domain function (one
 * guarded UPDATE; of racing answers one wins), so the event is published and the address freed as
 * by the API. The token in the form is the credential, as in the API's body: no sign-in, no cookie,
 * so a forged cross-site post can do nothing its sender could not do with the token directly.
 * Refused (no longer pending, unknown), it answers the page the link shows now.
 */
invitationPages.post(
  DECLINE_PATH,
  privatePage,
  pageHeaders,
  bodyLimit({
    maxSize: DECLINE_FORM_MAX_BYTES,
    onError: (c) => render(c, { state: "too_large", status: 413 }),
  }),
  rateLimit,
  d1Session,
  publishAfterWrites,
  async (c) => {
    const { token } = await c.req.parseBody();
    if (typeof token !== "string" || !isWellFormedToken(token)) {
      return render(c, { state: "malformed", status: 400 });
    }
    const db = c.get("db");
    const now = Date.now();
    try {
      const declined = await declineByToken(db, token, now);
      audit(c, "Invitation declined", { invitationId: declined.id, organizationId: declined.organizationId });
      return render(c, youDeclinedView(declined));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const row = await findInvitationByTokenHash(db, await hashInvitationToken(token));
      const view = invitationPageView(row, token, readConfig(c.env), now);
      // A refusal comes from a row that is not live, which cannot turn live again.
      if (view.state === "pending") throw error;
      return render(c, view);
    }
  },
);

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
