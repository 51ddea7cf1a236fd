/*
 * Human names that reach an email (the inviter's, the organization's): text a caller supplied,
 * made safe to put in a subject line or a display name. Escaping for HTML is the renderer's job;
 * this keeps a name to one short line of visible text.
 */

/** Longest name kept, in code points: room for a real name, not for a paragraph. */
export const MAX_DISPLAY_NAME = 100;

/**
 * Control characters (Cc: C0, DEL and C1, CR and LF among them, which could add a header or break
 * the subject), format characters (Cf: zero-width ones, and the bidirectional overrides and
 * isolates, which can make text display in another order than it reads), and the line and
 * paragraph separators.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * `value` as a display name: a string with invisible and control characters replaced by spaces,
 * runs of white space folded to one, trimmed, and cut to MAX_DISPLAY_NAME code points (never
 * inside a surrogate pair). Undefined for anything else, or for what is left empty.
 */
export function toDisplayName(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const cleaned = value.normalize("NFC").replace(INVISIBLE, " ").replace(/\s+/g, " ").trim();
  const name = Array.from(cleaned).slice(0, MAX_DISPLAY_NAME).join("").trim();
  return name === "" ? undefined : name;
}

/** True when `value` is already a display name: what a configured name (EMAIL_FROM_NAME) must be. */
export function isDisplayName(value: string): boolean {
  return toDisplayName(value) === value;
}
