import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client";
import type { AppEnv } from "./app-env";
import { countedD1 } from "./cost-log";

/** The header a client sends back to read its own writes, and in which every response returns one. */
export const BOOKMARK_HEADER = "x-d1-bookmark";

const BOOKMARK_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

const Bookmark = z.string().regex(BOOKMARK_PATTERN, "Invalid D1 bookmark");

/**
 * Request headers of every API operation: the optional bookmark, validated like any input. No
 * `example`: Swagger UI's "Try it out" would send it, and a made-up bookmark is a 400.
 */
export const BookmarkRequestHeadersSchema = z.object({
  [BOOKMARK_HEADER]: Bookmark.optional().openapi({
    description:
      "A bookmark from an earlier response's `x-d1-bookmark` (four dash-separated lowercase hex groups of 8, 8, 8 and 32 digits). Reads then see at least everything up to it (read-your-writes with D1 read replication). Without it, reads may be served by the nearest replica.",
  }),
});

/** Response headers of every successful API operation. */
export const BookmarkResponseHeadersSchema = z.object({
  [BOOKMARK_HEADER]: Bookmark.openapi({
    description:
      "The database position this response saw or wrote; send it back to read your own writes. On every 2xx answer of the API.",
    example: "0000007b-0000b26e-00001538-0c3e87bb37b3db5cc52eedb93cd3b96b",
  }),
});

/**
 * D1 read replication through the Sessions API: one session per request, anchored at the
 * client's bookmark when it sends one, otherwise free to use the nearest replica. Writes go to the
 * primary whatever the anchor. The session's latest bookmark is returned on every 2xx response. A
 * malformed bookmark never reaches D1: the route's header validation answers it with a 400 before
 * any query runs. Its queries count into the request's logged cost (cost-log.ts).
 * @see https://developers.cloudflare.com/d1/best-practices/read-replication/
 */
export const d1Session = createMiddleware<AppEnv>(async (c, next) => {
  const bookmark = c.req.header(BOOKMARK_HEADER);
  const session = countedD1(c).withSession(
    bookmark && BOOKMARK_PATTERN.test(bookmark) ? bookmark : "first-unconstrained",
  );
  c.set("db", createDb(session));
  await next();
  let latest = session.getBookmark();
  // The document promises the header on every success: an answer that ran no query (a bulk
  // create whose items are all invalid) asks the session for its position with a query that
  // reads no row. Errors do not carry it, and cost nothing extra.
  if (!latest && c.res.ok) {
    await session.prepare("SELECT 1").run();
    latest = session.getBookmark();
  }
  if (latest) c.header(BOOKMARK_HEADER, latest);
});
