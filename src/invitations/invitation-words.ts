import type { Role } from "../db/schema";

/*
 * How an invitation's facts read in words, for the people who receive one: the email and the
 * hosted page say them the same way.
 */

/** A role as a sentence says it ("as an operator") and as a label shows it ("Operator"). */
export const ROLE_WORDS: Record<Role, { inSentence: string; label: string }> = {
  ORG_ADMIN: { inSentence: "an administrator", label: "Administrator" },
  OPERATOR: { inSentence: "an operator", label: "Operator" },
  VIEWER: { inSentence: "a viewer", label: "Viewer" },
};

/** "8 December 2026 at 14:20": unambiguous in any reader's country (followed by "UTC"). */
const DATE_TIME_FORMAT = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "long",
  timeStyle: "short",
  timeZone: "UTC",
});

/** An instant (epoch ms) as "8 December 2026 at 14:20 UTC". */
export function inWords(at: number): string {
  return `${DATE_TIME_FORMAT.format(at)} UTC`;
}

/** The organization as a sentence names it: its name, else a phrase that still reads well. */
export function organizationInWords(organizationName: string | null, inviterName: string | null): string {
  return organizationName ?? (inviterName ? "their organization" : "an organization");
}

/** "Ada has invited you" or, with no inviter's name, "You have been invited". */
export function invitedInWords(inviterName: string | null): string {
  return inviterName ? `${inviterName} has invited you` : "You have been invited";
}
