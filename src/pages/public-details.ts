import type { Metadata } from "../db/schema";
import { MAX_METADATA_KEYS } from "../invitations/metadata";

/*
 * An invitation's public metadata as the hosted page shows it to a person: a short list of label
 * and text pairs, drawn as escaped text (never a link, never markup). The organization chose to
 * make these values public; the page shows only what reads as words and stays small. The private
 * metadata never comes here.
 */

/** A value longer than this many characters is cut, and ends with "…". */
export const MAX_SHOWN_CHARS = 200;

export type PublicDetail = { label: string; text: string };

/** At most `MAX_SHOWN_CHARS` characters (code points, so no emoji is split in half). */
function bounded(text: string): string {
  const chars = Array.from(text);
  return chars.length <= MAX_SHOWN_CHARS ? text : `${chars.slice(0, MAX_SHOWN_CHARS - 1).join("")}…`;
}

/** A scalar in words: text as given, a number in JSON's digits, a boolean as Yes or No; null is nothing. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value;
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "Yes" : "No";
  return undefined;
}

/** A value in words: a scalar, or a list of scalars joined by commas; an object is for programs. */
function valueText(value: unknown): string | undefined {
  if (!Array.isArray(value)) return scalarText(value);
  const items = value.map(scalarText).filter((item) => item !== undefined);
  return items.length === 0 ? undefined : items.join(", ");
}

/**
 * The rows the page shows for `metadata`, in its keys' order: the key as the label, the value in
 * words, bounded. Left out: null, empty text and lists, and nested objects.
 */
export function publicDetails(metadata: Metadata | null): PublicDetail[] {
  if (metadata === null) return [];
  return Object.entries(metadata)
    .slice(0, MAX_METADATA_KEYS)
    .flatMap(([key, value]) => {
      const text = valueText(value);
      return text === undefined ? [] : [{ label: bounded(key), text: bounded(text) }];
    });
}
