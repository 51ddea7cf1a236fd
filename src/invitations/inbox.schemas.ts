import { z } from "@hono/zod-openapi";
import { STATUSES } from "../db/schema";
import { InvitationSchema } from "./invitations.schemas";
import { integerQuery, valuesQuery } from "./list.schemas";

/*
 * The invitee's inbox: its query and its page. An item shows the invitee what they were invited
 * to and by whom; never the link, nor what only the organization may see.
 */

export const MyInvitationSchema = InvitationSchema.pick({
  id: true,
  organizationId: true,
  role: true,
  status: true,
  invitedBy: true,
  createdAt: true,
  expiresAt: true,
  publicMetadata: true,
})
  .extend({
    organizationName: z.string().nullable().openapi({
      description:
        "The organization's name as the inviter's token gave it (`org_name`); `null` when it had none.",
    }),
    inviterName: z.string().nullable().openapi({
      description: "The inviter's name as their token gave it (`name`); `null` when it had none.",
    }),
  })
  .openapi("MyInvitation");

export type MyInvitation = z.infer<typeof MyInvitationSchema>;

export const ListMyInvitationsQuerySchema = z.object({
  status: valuesQuery(
    STATUSES,
    "Only invitations in these effective statuses (a PENDING invitation past `expiresAt` is EXPIRED). Default: PENDING, the ones the invitee can still answer.",
  ),
  limit: integerQuery({ min: 1, max: 100, fallback: 20, description: "Items per page." }).defaulted,
  cursor: z.string().min(1).max(2048).optional().openapi({
    description:
      "Where the page starts: `meta.nextCursor` of the page before, sent with the same `status` (`limit` may change). Reads about `limit` rows at any depth.",
  }),
});

export const MyInvitationListSchema = z
  .object({
    data: z.array(MyInvitationSchema),
    meta: z.object({
      limit: z.number().int().openapi({ example: 20 }),
      nextCursor: z.string().nullable().openapi({
        description: "The next page's `cursor`; `null` on the last page.",
        example: null,
      }),
    }),
  })
  .openapi("MyInvitationList");
