import { z } from "@hono/zod-openapi";
import { ROLES, STATUSES } from "../db/schema";
import { normalizeEmail } from "../lib/email-address";
import { InvitationSchema } from "./invitations.schemas";

/*
 * The list's wire shapes: its query (paging by number or by cursor, filters, sort) and its page,
 * with the OpenAPI descriptions a client reads. How they are read is in list-plan.ts.
 */

/**
 * A decimal integer query parameter of at least `min` (and at most `max`, when given; `int()`
 * alone keeps it a safe integer), `fallback` when absent (or undefined, for the handler to
 * tell). "1.5", "1e1", "0x10" and " 2" are refused.
 */
export function integerQuery(options: { min: number; max?: number; fallback: number; description: string }) {
  const { min, max, fallback, description } = options;
  const value = z.number().int().min(min);
  const parsed = z
    .string()
    .regex(/^\d+$/, "Expected an integer")
    .transform(Number)
    .pipe(max === undefined ? value : value.max(max));
  const openapi = { type: "integer", minimum: min, maximum: max, default: fallback, description } as const;
  return {
    defaulted: parsed.default(fallback).openapi(openapi),
    optional: parsed.optional().openapi(openapi),
  };
}

/** A query parameter of one or several values, repeated (`?status=A&status=B`) or comma-separated. */
export function valuesQuery<const T extends readonly [string, ...string[]]>(values: T, description: string) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((value) => [...new Set((Array.isArray(value) ? value : [value]).flatMap((v) => v.split(",")))])
    .pipe(z.array(z.enum(values)))
    .optional()
    .openapi({
      type: "array",
      items: { type: "string", enum: [...values] },
      description: `${description} One or several, repeated or comma-separated.`,
    });
}

/** What the list can be sorted by (see list-plan.ts for the order each gives, ties included). */
export const SORT_FIELDS = ["createdAt", "expiresAt", "email"] as const;
export type SortField = (typeof SORT_FIELDS)[number];

const SORTS = SORT_FIELDS.flatMap((field) => [field, `-${field}`] as const);

/**
 * Query of `GET /invitations`. Out-of-range values are refused, never clamped; filters combine
 * (AND), and `total` counts what they match.
 */
export const ListInvitationsQuerySchema = z
  .object({
    // Absent stays undefined, so that a cursor with a page can be refused; the handler reads it as 1.
    page: integerQuery({
      min: 1,
      fallback: 1,
      description: "Page number (1-indexed). Not with `cursor`.",
    }).optional,
    limit: integerQuery({ min: 1, max: 100, fallback: 20, description: "Items per page." }).defaulted,
    cursor: z.string().min(1).max(2048).optional().openapi({
      description:
        "Where the page starts: `meta.nextCursor` of the page before, sent with the same `sort` and filters (`limit` may change). Reads about `limit` rows at any depth, where `page` reads every row before it; not with `page`.",
    }),
    status: valuesQuery(
      STATUSES,
      "Only invitations in these effective statuses (a PENDING invitation past `expiresAt` is EXPIRED).",
    ),
    email: z.string().overwrite(normalizeEmail).min(1).max(254).optional().openapi({
      description:
        "Only invitations to this address (exact; ASCII letters compare case-insensitively, nothing else is folded).",
      example: "user@example.com",
    }),
    role: valuesQuery(ROLES, "Only invitations granting these roles."),
    invitedBy: z.string().min(1).max(255).optional().openapi({
      description: "Only invitations sent by this user (token `sub`, exact).",
      example: "user_2f9d1c",
    }),
    sort: z
      .enum(SORTS)
      .default("-createdAt")
      .transform((sort) => ({
        field: sort.replace(/^-/, "") as SortField,
        direction: sort.startsWith("-") ? ("desc" as const) : ("asc" as const),
      }))
      .openapi({
        type: "string",
        enum: [...SORTS],
        default: "-createdAt",
        description:
          "Sort field, ascending; `-` in front for descending. Ties are broken by `createdAt` (for `email`) and then `id`, in the same direction, so pages are stable.",
      }),
  })
  .refine((query) => query.cursor === undefined || query.page === undefined, {
    path: ["page"],
    message: "Send either page or cursor: a cursor already says where the page starts",
  });

/** A page of invitations, with how many match in all. */
export const InvitationListSchema = z
  .object({
    data: z.array(InvitationSchema),
    meta: z.object({
      limit: z.number().int().openapi({ example: 20 }),
      page: z.number().int().nullable().openapi({
        description: "The page asked for (1 when none was); `null` for a page asked for by `cursor`.",
        example: 1,
      }),
      total: z.number().int().openapi({
        description:
          "How many of the organization's invitations match the filters; with no filter, all of them, in every state. Exact, and read from counts the database keeps (an `email` filter counts the address's invitations).",
        example: 1,
      }),
      totalPages: z
        .number()
        .int()
        .openapi({ description: "`ceil(total / limit)`; 0 when there are none.", example: 1 }),
      nextCursor: z.string().nullable().openapi({
        description:
          "The next page's `cursor`, with this page's sort and filters; `null` on the last page. On every page, by number or by cursor.",
        example: null,
      }),
    }),
  })
  .openapi("InvitationList");
