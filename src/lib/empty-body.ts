import { createMiddleware } from "hono/factory";

/**
 * For an operation whose body is optional: a request with an empty body is taken as one without
 * a body, whatever its Content-Type says (some clients send `Content-Type: application/json` with
 * nothing after it), instead of failing as malformed JSON. A body that is there is validated as
 * usual.
 */
export const emptyBodyIsNoBody = createMiddleware(async (c, next) => {
  const raw = c.req.raw;
  const empty = raw.body === null || (await raw.clone().arrayBuffer()).byteLength === 0;
  if (empty && raw.headers.has("Content-Type")) {
    const headers = new Headers(raw.headers);
    headers.delete("Content-Type");
    headers.delete("Content-Length");
    c.req.raw = new Request(raw.url, { method: raw.method, headers });
  }
  await next();
});
