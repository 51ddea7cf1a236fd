import type { Db } from "../db/client";
import type { InvitationRow, Metadata, Role } from "../db/schema";
import type { Config } from "../lib/config";
import { ERRORS, type ErrorCode, type ErrorDetails, issuesToDetails } from "../lib/errors";
import * as repository from "./bulk.repository";
import type { BulkCreateResult } from "./bulk.schemas";
import { CreateInvitationBodySchema, type InvitationWithLink } from "./invitations.schemas";
import { redirectUrlDetails } from "./redirect-url";

/** An item's error, as the envelope says one: its code from the ERRORS catalogue, and its message. */
function itemError(code: ErrorCode, options: { message?: string; details?: ErrorDetails } = {}) {
  return { code, message: options.message ?? ERRORS[code].message, details: options.details ?? {} };
}

/** Why an item of a bulk create was not created. */
export const BULK_ITEM_ERRORS = {
  invalid: (details: ErrorDetails) => itemError("VALIDATION_ERROR", { details }),
  duplicate: (first: number) =>
    itemError("DUPLICATE_IN_REQUEST", { message: `The same email address is item ${first} of this request` }),
  alreadyPending: itemError("CONFLICT"),
};

/** An item that may be created: its position, role, lifetime and email switch, keyed by its stored address. */
export type BulkCandidate = {
  index: number;
  role: Role;
  lifetimeMs: number;
  sendEmail: boolean;
  publicMetadata: Metadata | null;
  privateMetadata: Metadata | null;
  redirectUrl: string | null;
};

/**
 * Classifies a bulk create's items before anything is written: each is parsed as a single
 * create's body, and is either invalid, a repeat of an earlier item's address (as stored: trimmed
 * and lower-cased), or a candidate. `results` holds the outcome of the first two kinds by index; what
 * becomes of a candidate only the database can say.
 */
export function classifyBulkItems(
  items: readonly unknown[],
  defaultLifetimeMs: number,
  config: Pick<Config, "redirectOrigins">,
) {
  const results: BulkCreateResult[] = [];
  const candidates = new Map<string, BulkCandidate>();
  items.forEach((item, index) => {
    const parsed = CreateInvitationBodySchema.safeParse(item);
    const redirect = parsed.success ? redirectUrlDetails(config, parsed.data.redirectUrl) : undefined;
    if (!parsed.success || redirect) {
      const details = redirect ?? (parsed.error ? issuesToDetails(parsed.error.issues, "item") : {});
      // The address, when it is the valid part of an invalid item, so the result can be matched up.
      const address = CreateInvitationBodySchema.shape.email.safeParse(
        typeof item === "object" && item !== null ? (item as { email?: unknown }).email : undefined,
      );
      const email = address.success ? address.data : null;
      results[index] = { index, email, outcome: "invalid", error: BULK_ITEM_ERRORS.invalid(details) };
      return;
    }
    const {
      email,
      role,
      expiresInDays,
      sendEmail,
      publicMetadata = null,
      privateMetadata = null,
    } = parsed.data;
    const redirectUrl = parsed.data.redirectUrl ?? null;
    const first = candidates.get(email);
    if (first) {
      results[index] = { index, email, outcome: "duplicate", error: BULK_ITEM_ERRORS.duplicate(first.index) };
      return;
    }
    const lifetimeMs = expiresInDays === undefined ? defaultLifetimeMs : expiresInDays * 86_400_000;
    candidates.set(email, {
      index,
      role,
      lifetimeMs,
      sendEmail,
      publicMetadata,
      privateMetadata,
      redirectUrl,
    });
  });
  return { results, candidates };
}

export type BulkCreateInput = {
  /** What every created row shares: organization, caller, time, the names for the email. */
  common: repository.BulkCommon;
  items: readonly unknown[];
  dryRun: boolean;
  defaultLifetimeMs: number;
  /** What redirect URLs may be (REDIRECT_ORIGINS). */
  config: Pick<Config, "redirectOrigins">;
  /** A new invitation's link secret and its stored digest. */
  newLink: (id: string) => Promise<{ token: string; tokenHash: string }>;
  /** A created row as the answer shows it, with its link. */
  withLink: (row: InvitationRow, token: string) => InvitationWithLink;
};

/**
 * A bulk create: classifies the items, then asks the database which candidates it creates (or, for a
 * dry run, which ones a live pending invitation would stop), and answers with one result per
 * item and the counts. Returns the created rows too, for the audit log.
 */
export async function bulkCreate(db: Db, input: BulkCreateInput) {
  const { common, items, dryRun } = input;
  const { organizationId, now } = common;
  const { results, candidates } = classifyBulkItems(items, input.defaultLifetimeMs, input.config);
  let created: InvitationRow[] = [];

  if (dryRun) {
    const pending = await repository.livePendingEmails(db, organizationId, [...candidates.keys()], now);
    for (const [email, { index }] of candidates) {
      results[index] = pending.has(email)
        ? { index, email, outcome: "already_pending", error: BULK_ITEM_ERRORS.alreadyPending }
        : { index, email, outcome: "would_create" };
    }
  } else {
    const links = new Map<string, string>();
    const rows: repository.NewBulkInvitation[] = [];
    for (const [email, { lifetimeMs, ...candidate }] of candidates) {
      const id = crypto.randomUUID();
      const { token, tokenHash } = await input.newLink(id);
      links.set(email, token);
      rows.push({ ...candidate, id, email, tokenHash, expiresAt: now + lifetimeMs });
    }
    created = await repository.insertInvitations(db, common, rows);
    const byEmail = new Map(created.map((row) => [row.email, row]));
    for (const [email, { index }] of candidates) {
      const row = byEmail.get(email);
      const token = links.get(email);
      results[index] =
        row && token
          ? { index, email, outcome: "created", invitation: input.withLink(row, token) }
          : { index, email, outcome: "already_pending", error: BULK_ITEM_ERRORS.alreadyPending };
    }
  }

  const count = (outcome: BulkCreateResult["outcome"]) => results.filter((r) => r.outcome === outcome).length;
  const body = {
    dryRun,
    summary: {
      requested: items.length,
      created: count("created"),
      wouldCreate: count("would_create"),
      duplicate: count("duplicate"),
      alreadyPending: count("already_pending"),
      invalid: count("invalid"),
    },
    results,
  };
  return { body, created };
}
