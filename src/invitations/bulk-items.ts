import type { Role } from "../db/schema";
import { ERRORS, issuesToDetails } from "../lib/errors";
import { type BulkCreateResult, CreateInvitationBodySchema } from "./invitations.schemas";

/** Why an item of a bulk create was not created, in the envelope's terms. */
export const BULK_ITEM_ERRORS = {
  invalid: (details: Record<string, string[]>) => ({
    code: "VALIDATION_ERROR",
    message: ERRORS.VALIDATION_ERROR.message,
    details,
  }),
  duplicate: (first: number) => ({
    code: "DUPLICATE_IN_REQUEST",
    message: `The same email address is item ${first} of this request`,
    details: {},
  }),
  alreadyPending: { code: "CONFLICT", message: ERRORS.CONFLICT.message, details: {} },
};

/** An item that may be created: its position, role and lifetime, keyed by its stored address. */
export type BulkCandidate = { index: number; role: Role; lifetimeMs: number };

/**
 * Sorts a bulk create's items before anything is written: each is parsed as a single create's
 * body, and is either invalid, a repeat of an earlier item's address (as stored: trimmed and
 * lower-cased), or a candidate. `results` holds the outcome of the first two kinds by index; what
 * becomes of a candidate only the database can say.
 */
export function sortBulkItems(items: readonly unknown[], defaultLifetimeMs: number) {
  const results: BulkCreateResult[] = [];
  const candidates = new Map<string, BulkCandidate>();
  items.forEach((item, index) => {
    const parsed = CreateInvitationBodySchema.safeParse(item);
    if (!parsed.success) {
      const details = issuesToDetails(parsed.error.issues, "item");
      results[index] = { index, email: null, outcome: "invalid", error: BULK_ITEM_ERRORS.invalid(details) };
      return;
    }
    const { email, role, expiresInDays } = parsed.data;
    const first = candidates.get(email);
    if (first) {
      results[index] = { index, email, outcome: "duplicate", error: BULK_ITEM_ERRORS.duplicate(first.index) };
      return;
    }
    const lifetimeMs = expiresInDays === undefined ? defaultLifetimeMs : expiresInDays * 86_400_000;
    candidates.set(email, { index, role, lifetimeMs });
  });
  return { results, candidates };
}
