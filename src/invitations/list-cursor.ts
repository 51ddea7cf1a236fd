import { z } from "@hono/zod-openapi";
import { decodeBase64Url } from "hono/utils/encode";
import type { InvitationRow } from "../db/schema";
import type { Config } from "../lib/config";
import { base64Url } from "../lib/digest";
import { ApiError } from "../lib/errors";
import { memo } from "../lib/memo";
import { type ListFilters, SORT_KEYS, type SortKey } from "./list-plan";

/*
 * The list's cursor: where the next page starts (the sort key of the last row shown), and the
 * sort and filters of the list it belongs to. Sealed with AES-GCM under a key derived (HKDF) from
 * the configuration's cursor secret, with the organization as associated data: a client can
 * neither read it (it may hold an address) nor make or alter one, and a cursor of another
 * organization does not open. Any change to its text fails as a whole.
 */

const encoder = new TextEncoder();
const IV_BYTES = 12;
/** The layout of what is sealed; a new layout gets a new number, and old cursors are refused clearly. */
const VERSION = 1;

/** The sort and filters a cursor belongs to: a list's query but its time and paging. */
export type CursorQuery = Omit<ListFilters, "now">;

/** AES-GCM key of the cursors, derived once per configuration. */
export const cursorKey = memo(async (config: Config): Promise<CryptoKey> => {
  const material = await crypto.subtle.importKey("raw", encoder.encode(config.cursorSecret), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(),
      info: encoder.encode("invitations-api list cursor"),
    },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
});

/** The query in one canonical string: sets sorted, absent filters null. */
function fingerprint(query: CursorQuery): string {
  const sorted = (values: readonly string[] | undefined) => (values ? [...values].sort() : null);
  return JSON.stringify([
    query.sort.field,
    query.sort.direction,
    sorted(query.statuses),
    sorted(query.roles),
    query.email ?? null,
    query.invitedBy ?? null,
  ]);
}

/** The sort key of `row` for the sort `field`: where the page after it starts. */
export function sortKeyOf(row: InvitationRow, field: CursorQuery["sort"]["field"]): SortKey {
  return SORT_KEYS[field].map((key) => row[key]);
}

/** A cursor for the page after `after` of the list `query` of `organizationId`. */
export async function sealCursor(
  key: CryptoKey,
  organizationId: string,
  query: CursorQuery,
  after: SortKey,
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(organizationId) },
    key,
    encoder.encode(JSON.stringify({ v: VERSION, q: fingerprint(query), k: after })),
  );
  const bytes = new Uint8Array(IV_BYTES + sealed.byteLength);
  bytes.set(iv);
  bytes.set(new Uint8Array(sealed), IV_BYTES);
  return base64Url(bytes.buffer);
}

const SealedSchema = z.object({
  v: z.number(),
  q: z.string(),
  k: z.array(z.union([z.string(), z.number()])),
});

const timeAndId = z.tuple([z.number().int(), z.string()]);
/** Each sort's key, as SORT_KEYS lists it. */
const SORT_KEY_SCHEMAS = {
  createdAt: timeAndId,
  expiresAt: timeAndId,
  email: z.tuple([z.string(), z.number().int(), z.string()]),
};

const refused = (message: string) => new ApiError("VALIDATION_ERROR", { details: { cursor: [message] } });

/**
 * Where the page of `cursor` starts. A cursor this API did not make for this organization, or
 * one altered, is refused with 400 VALIDATION_ERROR; so is one made for another sort or other
 * filters than `query`'s, saying so.
 */
export async function openCursor(
  key: CryptoKey,
  organizationId: string,
  query: CursorQuery,
  cursor: string,
): Promise<SortKey> {
  let opened: unknown;
  try {
    const bytes = decodeBase64Url(cursor);
    // Only the API's own spelling: base64 can write the same bytes in more than one way.
    if (base64Url(bytes.buffer) !== cursor) throw new Error("Not canonical base64url");
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES), additionalData: encoder.encode(organizationId) },
      key,
      bytes.slice(IV_BYTES),
    );
    opened = JSON.parse(new TextDecoder().decode(plain));
  } catch {
    throw refused("Invalid cursor: pass meta.nextCursor of a list of this organization, unchanged");
  }
  const sealed = SealedSchema.safeParse(opened);
  if (!sealed.success || sealed.data.v !== VERSION) {
    throw refused("This cursor is from an older version of the API: start again from the first page");
  }
  if (sealed.data.q !== fingerprint(query)) {
    throw refused(
      "This cursor belongs to a list with another sort or other filters: send the same sort and filters as the request that returned it",
    );
  }
  const after = SORT_KEY_SCHEMAS[query.sort.field].safeParse(sealed.data.k);
  if (!after.success) throw new Error("A cursor sealed for this sort holds another sort's key");
  return after.data;
}
