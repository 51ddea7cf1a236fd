import type { Context, Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../lib/app-env";

/**
 * The files of the installed swagger-ui-dist package the page uses, served from the Worker's
 * static assets ([assets] in wrangler.toml points at the package), by name and type. Nothing
 * else of the package is reachable: its own index.html would open a demo API.
 */
const ASSET_TYPES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

/** Where the page's own files are served. */
export const DOCS_ASSETS_PATH = "/docs/assets";

/**
 * Everything the page loads comes from this origin; nothing inline runs (the start script is a
 * file too), and no other site can frame it. `data:` images are Swagger UI's own icons.
 */
const docsHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Invitations API</title>
    <link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-32x32.png" />
    <link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

// No validator badge: it would load an image from validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
`;

async function asset(c: Context<AppEnv>) {
  const file = c.req.param("file") ?? "";
  const type = ASSET_TYPES[file];
  if (!type) return c.notFound();
  const stored = await c.env.ASSETS.fetch(new URL(`/${file}`, c.req.url));
  if (!stored.ok) return c.notFound();
  return new Response(stored.body, {
    headers: {
      "Content-Type": type,
      // Versioned by the package in package-lock.json; a day is a fair trade against a stale page.
      "Cache-Control": "public, max-age=86400",
    },
  });
}

/** `/docs` (Swagger UI over /openapi.json) with every file it needs served from here, none from a CDN. */
export function mountDocs(app: Hono<AppEnv>) {
  app.get("/docs", docsHeaders, (c) => c.html(PAGE));
  app.get("/docs/init.js", docsHeaders, (c) =>
    c.body(INIT, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
  );
  app.get(`${DOCS_ASSETS_PATH}/:file`, docsHeaders, asset);
}
