import { html } from "hono/html";
import type { Role } from "../db/schema";
import { invitedInWords, inWords, organizationInWords, ROLE_WORDS } from "../invitations/invitation-words";

/*
 * The invitation email: its subject, plain text and HTML, from the invitation's facts. Pure: no
 * I/O, no configuration. What a caller supplied (the names) arrives already cut to one short line
 * of visible text (lib/display-name.ts), so it cannot add a header or break the subject; here the
 * HTML escapes every value (`html` from hono/html escapes what it interpolates), and the link is
 * built by the sender from configuration, never from caller text.
 */

export type InvitationEmailFacts = {
  /** The inviter's name, from their token's `name`; null when it had none. */
  inviterName: string | null;
  /** The organization's name, from the token's `org_name`; null when it had none. */
  organizationName: string | null;
  role: Role;
  /** Epoch ms. */
  expiresAt: number;
  /** The invitation link, with its token. */
  link: string;
};

export type InvitationEmail = { subject: string; text: string; html: string };

/** The sentences, in words, with or without the names. */
function sentences(facts: InvitationEmailFacts) {
  const { inviterName, organizationName } = facts;
  const organization = organizationInWords(organizationName, inviterName);
  return {
    subject: inviterName
      ? `${inviterName} invited you to join ${organization}`
      : `You're invited to join ${organization}`,
    who: invitedInWords(inviterName),
    organization,
    role: ROLE_WORDS[facts.role].inSentence,
    expires: inWords(facts.expiresAt),
  };
}

/** The invitation email for `facts`: the same message as plain text and as HTML. */
export async function invitationEmail(facts: InvitationEmailFacts): Promise<InvitationEmail> {
  const words = sentences(facts);
  const text = [
    "Hello,",
    "",
    `${words.who} to join ${words.organization} as ${words.role}.`,
    "",
    "Accept the invitation:",
    facts.link,
    "",
    `The invitation expires on ${words.expires}. If you were not expecting it, you can ignore this email: nothing happens unless you accept.`,
    "",
  ].join("\n");
  const body = await html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${words.subject}</title>
</head>
<body style="margin:0;padding:24px;background:#f4f4f5;color:#18181b;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">
<p style="margin:0 0 16px">Hello,</p>
<p style="margin:0 0 24px">${words.who} to join <strong>${words.organization}</strong> as ${words.role}.</p>
<p style="margin:0 0 24px"><a href="${facts.link}" style="display:inline-block;background:#1d4ed8;color:#ffffff;text-decoration:none;font-weight:600;padding:12px 20px;border-radius:6px">Accept the invitation</a></p>
<p style="margin:0 0 24px;font-size:14px;color:#52525b">Or open this link: <a href="${facts.link}" style="color:#1d4ed8;word-break:break-all">${facts.link}</a></p>
<p style="margin:0;font-size:14px;color:#52525b">The invitation expires on ${words.expires}. If you were not expecting it, you can ignore this email: nothing happens unless you accept.</p>
</div>
</body>
</html>
`;
  return { subject: words.subject, text, html: body.toString() };
}
