import { z } from "@hono/zod-openapi";
import { InvitationWithLinkSchema } from "./invitations.schemas";

/*
 * A bulk create's wire shapes: its body (items checked one by one, as single creates) and its
 * answer, one result per item.
 */

/** Items one bulk create may hold. */
export const BULK_MAX_ITEMS = 100;

/**
 * The body of `POST /invitations/bulk`. Each item is checked on its own (an invalid item is a
 * result, not a refusal of the whole request), so items are taken as any JSON here and parsed
 * with CreateInvitationBodySchema by the handler; only the envelope's shape is refused with 400.
 */
export const BulkCreateInvitationsBodySchema = z
  .strictObject({
    invitations: z
      .array(z.unknown())
      .min(1)
      .max(BULK_MAX_ITEMS)
      .openapi({
        description: `1 to ${BULK_MAX_ITEMS} invitations, each as the body of a single create (\`email\`, optional \`role\`, \`expiresInDays\`, \`sendEmail\`, \`publicMetadata\` and \`privateMetadata\`). An item that is not valid does not fail the request: its result says why.`,
        items: { $ref: "#/components/schemas/CreateInvitationBody" },
        example: [{ email: "ada@example.com", role: "OPERATOR" }, { email: "grace@example.com" }],
      }),
    dryRun: z.boolean().default(false).openapi({
      description:
        "Validate and report what would happen, writing nothing: `would_create` for an item that would be created now. No links are issued.",
    }),
  })
  .openapi("BulkCreateInvitationsBody");

/** What became of one item of a bulk create. */
export const BULK_OUTCOMES = ["created", "would_create", "duplicate", "already_pending", "invalid"] as const;

const ItemErrorSchema = z
  .object({
    code: z.string().openapi({ example: "CONFLICT" }),
    message: z.string().openapi({ example: "A pending invitation already exists for this email" }),
    details: z.record(z.string(), z.array(z.string())).openapi({
      description: "For VALIDATION_ERROR, each failing field of the item with its messages; empty otherwise.",
    }),
  })
  .openapi("BulkItemError");

export const BulkCreateResultSchema = z
  .object({
    index: z
      .number()
      .int()
      .openapi({ description: "The item's position in `invitations`, from 0.", example: 0 }),
    email: z.string().nullable().openapi({
      description:
        "The item's address as it is stored (trimmed, lower-cased); `null` when the item has none that is valid.",
      example: "ada@example.com",
    }),
    outcome: z.enum(BULK_OUTCOMES).openapi({
      description:
        "`created`: `invitation` holds it, with its link. `would_create` (dry run only): it would be created now. `duplicate`: an earlier item has the same address (error DUPLICATE_IN_REQUEST). `already_pending`: the address has a live pending invitation (error CONFLICT). `invalid`: the item fails validation (error VALIDATION_ERROR, with `details`).",
    }),
    invitation: InvitationWithLinkSchema.optional().openapi({
      description: "Only when `outcome` is `created`.",
    }),
    error: ItemErrorSchema.optional().openapi({
      description: "Why the item was not created; absent otherwise.",
    }),
  })
  .openapi("BulkCreateResult");

export const BulkCreateInvitationsResponseSchema = z
  .object({
    dryRun: z.boolean(),
    summary: z
      .object({
        requested: z.number().int().openapi({ example: 2 }),
        created: z.number().int().openapi({ example: 1 }),
        wouldCreate: z.number().int().openapi({ example: 0 }),
        duplicate: z.number().int().openapi({ example: 0 }),
        alreadyPending: z.number().int().openapi({ example: 1 }),
        invalid: z.number().int().openapi({ example: 0 }),
      })
      .openapi({ description: "How many items had each outcome; they add up to `requested`." }),
    results: z
      .array(BulkCreateResultSchema)
      .openapi({ description: "One per item, in the request's order." }),
  })
  .openapi("BulkCreateInvitationsResponse");

export type BulkCreateResult = z.infer<typeof BulkCreateResultSchema>;
