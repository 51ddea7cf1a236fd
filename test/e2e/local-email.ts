/**
 * What the end-to-end tests share about a running `wrangler dev`: waiting for something to
 * happen, and reading an email back from its local email viewer (the Local Explorer's API), where
 * the README tells developers to look.
 */

/** Waits until `condition` holds, running `probe` (when given) before each look. */
export async function until(
  condition: () => boolean,
  what: string,
  ms = 30_000,
  probe?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (await probe?.(); !condition(); await probe?.()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type ViewerList = { result: { to: string[]; subject: string; messageId: string }[] };
export type ViewerEmail = { subject: string; text: string; html: string };

/** The first email to `to` that wrangler dev at `base` simulated sending, once it is there. */
export async function emailTo(base: string, to: string): Promise<ViewerEmail> {
  const viewer = `${base}/cdn-cgi/local/explorer/api/local/email/sending`;
  let messageId: string | undefined;
  await until(
    () => messageId !== undefined,
    `the email to ${to} in the viewer`,
    30_000,
    async () => {
      const list = (await (await fetch(viewer)).json()) as ViewerList;
      messageId = list.result.find((email) => email.to.includes(to))?.messageId;
    },
  );
  const res = await fetch(`${viewer}?email_id=${encodeURIComponent(String(messageId))}`);
  return ((await res.json()) as { result: ViewerEmail }).result;
}
