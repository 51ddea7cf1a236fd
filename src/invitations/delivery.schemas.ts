import { z } from "@hono/zod-openapi";
import { DELIVERY_STATUSES } from "../db/schema";
import { omittedMeans } from "../lib/omitted-means";

/*
 * The wire shapes of the invitation email: where the current send's email stands (on every
 * Invitation) and the switch that skips it (on create, bulk items and resend).
 */

const Timestamp = z.iso.datetime();

/** Where the email of the invitation's current send (its create, or its latest resend) stands. */
export const DeliverySchema = z
  .object({
    status: z.enum(DELIVERY_STATUSES).openapi({
      description:
        "`QUEUED`: the email will be sent, off the request, within moments (it is retried with backoff if the Email Service refuses it). `SENT`: the Email Service accepted it. `FAILED`: it was given up (after the last attempt, a refusal no retry can fix, or an attempt whose outcome is unknown), and an `invitation.delivery_failed` event was published. `SKIPPED`: no email, because the request said `sendEmail: false` (or the invitation stopped being pending before it went out, or it predates email delivery). A delivery never changes the invitation's `status`; a resend starts a fresh one.",
    }),
    attempts: z.number().int().openapi({ description: "Attempts of this send so far.", example: 1 }),
    lastAttemptAt: Timestamp.nullable().openapi({
      description: "When the last attempt began; `null` before the first.",
    }),
    sentAt: Timestamp.nullable().openapi({
      description: "When the Email Service accepted the email; `null` unless SENT.",
    }),
    lastError: z.string().nullable().openapi({
      description:
        "Why the last attempt failed: the Email Service's error code (such as `E_RATE_LIMIT_EXCEEDED` or `E_RECIPIENT_SUPPRESSED`), or `OUTCOME_UNKNOWN` (the Worker stopped mid-send, so it is not sent again), `LINK_CHANGED` (LINK_SECRET changed since the link was issued), `NOT_CONFIGURED` (no EMAIL_FROM, or no link base), `RETRIES_EXHAUSTED`. `null` when no attempt failed.",
      example: null,
    }),
  })
  .openapi("InvitationDelivery", {
    example: {
      status: "SENT",
      attempts: 1,
      lastAttemptAt: "2019-08-24T14:15:23.000Z",
      sentAt: "2019-08-24T14:15:24.000Z",
      lastError: null,
    },
  });

export type Delivery = z.infer<typeof DeliverySchema>;

/** `sendEmail` on create, on each bulk item and on resend. */
export const SendEmailSchema = omittedMeans(z.boolean(), true).openapi({
  description:
    "`true` when omitted: whether this service emails the invitee the link (through Cloudflare Email Service, off the request). `false` skips it (the delivery is `SKIPPED`): for teams that mail through their own system, from the returned `inviteUrl` or the `invitation.created` / `invitation.resent` event.",
  example: true,
});

/**
 * The optional body of `POST /invitations/{id}/resend`. No body (or an empty one) is a resend
 * that emails the new link, as before the body existed.
 */
export const ResendInvitationBodySchema = z
  .strictObject({ sendEmail: SendEmailSchema })
  .openapi("ResendInvitationBody");
