/** Whitespace as ASCII defines it: space, tab, line feed, vertical tab, form feed, carriage return. */
const ASCII_SPACE_AT_ENDS = /^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g;

/**
 * An email address as it is stored and compared: ASCII whitespace trimmed from both ends and the
 * ASCII letters `A`–`Z` lower-cased, nothing else touched. JavaScript's own `trim()` and
 * `toLowerCase()` follow Unicode: `toLowerCase()` maps U+212A KELVIN SIGN to an ASCII `k` and
 * `trim()` strips no-break spaces and BOMs, so `\u212Aate@example.com` (another mailbox) would
 * compare equal to `kate@example.com`. Here it stays as it is, and matches no stored address:
 * stored addresses are ASCII (the create schema refuses anything else).
 */
export function normalizeEmail(value: string): string {
  return value.replace(ASCII_SPACE_AT_ENDS, "").replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}
