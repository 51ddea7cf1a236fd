import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { DELIVERY_STATUSES, EVENT_TYPES, type InvitationEventRow, ROLES, STATUSES } from "../db/schema";
import { invitationWithStatus, type StoredInvitation } from "../invitations/invitation-view";
import { InvitationSchema } from "../invitations/invitations.schemas";

/**
 * A lifecycle event as the INVITATION_EVENTS queue carries it and the webhook receives it: which
 * change, when, and the invitation as that change left it. Never the link or its token.
 */
export const InvitationEventSchema = z
  .object({
    id: z.uuid().openapi({
      description:
        "The event's id. Delivery is at least once: the same event may arrive twice, with the same id; deduplicate on it.",
    }),
    type: z.enum(EVENT_TYPES).openapi({
      description:
        "`invitation.created`, `.resent`, `.revoked`, `.accepted` and `.declined` follow those operations; `invitation.updated` follows a change of the invitation's metadata or redirect URL. `invitation.expired` is emitted when the expiry is stored: by the cron sweep, or earlier when a new invitation or a resend to the same email records it. `invitation.delivery_failed`: the invitation email of the current send was given up (`invitation.delivery` says why); the invitation itself is unchanged.",
    }),
    occurredAt: z.iso.datetime().openapi({
      description:
        "When the change happened: the invitation's `updatedAt`; for `invitation.delivery_failed`, the delivery's `lastAttemptAt`.",
    }),
    organizationId: z.uuid().openapi({ description: "The invitation's organization." }),
    invitation: InvitationSchema.openapi({
      description:
        "The invitation right after the change, with its stored status (for `invitation.expired`, EXPIRED) and its email's `delivery` (QUEUED or SKIPPED on `.created` and `.resent`). The same fields as the API returns; no token or link.",
    }),
  })
  .openapi("InvitationEvent");

export type InvitationEvent = z.infer<typeof InvitationEventSchema>;

const Millis = z.number().int();

/**
 * What the outbox triggers store of the invitation (migration 0005, `json_object` from NEW): its
 * columns by their names here, without `token_hash`. The triggers spell it out in SQL, so it is
 * parsed, not trusted: a trigger that drifted from the table (a column added, renamed or dropped)
 * writes rows that fail here, and the publisher sets them aside and logs them instead of
 * publishing a wrong event. test/events.test.ts checks each trigger's keys against the table.
 */
const StoredInvitationSchema = z.strictObject({
  id: z.string(),
  organizationId: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  status: z.enum(STATUSES),
  invitedBy: z.string(),
  createdAt: Millis,
  updatedAt: Millis,
  expiresAt: Millis,
  acceptedAt: Millis.nullable(),
  acceptedBy: z.string().nullable(),
  revokedAt: Millis.nullable(),
  revokedBy: z.string().nullable(),
  resendCount: z.number().int(),
  lastSentAt: Millis.nullable(),
  inviterName: z.string().nullable(),
  organizationName: z.string().nullable(),
  deliveryStatus: z.enum(DELIVERY_STATUSES),
  deliveryAttempts: z.number().int(),
  deliveryLastAttemptAt: Millis.nullable(),
  deliverySentAt: Millis.nullable(),
  deliveryLastError: z.string().nullable(),
  deliveryClaimedUntil: Millis.nullable(),
  // Snapshots written before migration 0009 have none of these.
  declinedAt: Millis.nullable().default(null),
  declinedBy: z.string().nullable().default(null),
  publicMetadata: z.record(z.string(), z.unknown()).nullable().default(null),
  privateMetadata: z.record(z.string(), z.unknown()).nullable().default(null),
  redirectUrl: z.string().nullable().default(null),
}) satisfies z.ZodType<StoredInvitation>;

const EventTypeSchema = z.enum(EVENT_TYPES);

/**
 * An outbox row as the event that is published, with the invitation as stored (from which the
 * publisher learns whether the change asks for an email). Throws when the row is not one (a
 * drifted trigger, a hand edit): the publisher sets such rows aside.
 */
export function toEvent(row: InvitationEventRow): { event: InvitationEvent; invitation: StoredInvitation } {
  const invitation = StoredInvitationSchema.parse(row.invitation);
  const event: InvitationEvent = {
    id: row.id,
    type: EventTypeSchema.parse(row.type),
    occurredAt: new Date(row.occurredAt).toISOString(),
    organizationId: row.organizationId,
    invitation: invitationWithStatus(invitation, invitation.status),
  };
  return { event, invitation };
}

/** The headers each webhook delivery carries (Standard Webhooks). */
const WebhookHeadersSchema = z.object({
  "webhook-id": z
    .uuid()
    .openapi({ description: "The event's id: the same on every retry. Deduplicate on it." }),
  "webhook-timestamp": z.string().openapi({
    description:
      "When this delivery was signed, in Unix seconds. Refuse one far from your clock (say 5 minutes): a replay.",
    example: "1795312647",
  }),
  "webhook-signature": z.string().openapi({
    description:
      "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` (the raw body) under the key WEBHOOK_SECRET holds: the base64-decoded bytes after its `whsec_` prefix (the only form accepted). Compare in constant time.",
    example: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  }),
});

/**
 * The event contract in the OpenAPI document, as a 3.1 webhook: what the queue consumer POSTs to
 * WEBHOOK_URL, and what a consumer of the INVITATION_EVENTS queue receives as the message body.
 */
export function registerEventWebhook(registry: OpenAPIHono["openAPIRegistry"]) {
  registry.registerWebhook({
    method: "post",
    path: "invitationEvent",
    tags: ["Events"],
    summary: "A lifecycle event",
    description:
      "Every change of an invitation (`invitation.created`, `.resent`, `.revoked`, `.accepted`, `.declined`, `.updated`, `.expired`, and `.delivery_failed` when its email is given up) is recorded with the change itself and published to the INVITATION_EVENTS queue; the Worker's queue consumer POSTs each one to WEBHOOK_URL, signed. Delivery is at least once and in no guaranteed order: deduplicate on `id` (the `webhook-id` header), order by `occurredAt`. Answer 2xx to acknowledge; anything else, a redirect or no answer within 10 s is retried after WEBHOOK_RETRY_DELAY_SECONDS (30 by default), doubling each time up to an hour, up to the queue's max_retries (10), after which the event is moved to the dead-letter queue.",
    request: {
      headers: WebhookHeadersSchema,
      body: { required: true, content: { "application/json": { schema: InvitationEventSchema } } },
    },
    responses: {
      200: { description: "Any 2xx status acknowledges the event; the body is not read." },
    },
  });
}
