import type { Child } from "hono/jsx";
import { INVITE_PAGE_PATH } from "../invitations/invitation-token";

/** Where the pages' stylesheet is served (page-style.ts). */
export const PAGE_STYLE_PATH = `${INVITE_PAGE_PATH}/page.css`;

/**
 * The document every page is drawn in: English, sized for phones, kept out of search engines and
 * referrers (the URL carries a secret; the headers say the same), styled by the one stylesheet.
 */
export function Layout({ title, children }: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <meta name="referrer" content="no-referrer" />
        <title>{title}</title>
        <link rel="stylesheet" href={PAGE_STYLE_PATH} />
      </head>
      <body>
        <main>{children}</main>
      </body>
    </html>
  );
}
