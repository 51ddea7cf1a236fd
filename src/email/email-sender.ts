import { createDb, type Db } from "../db/client";
import { databaseFor } from "../db/databases";
import type { InvitationRow } from "../db/schema";
import { requestPublish } from "../events/publisher";
import { effectiveStatus } from "../invitations/invitation-status";
import { configuredLinkBase, invitationLink, inviteUrl } from "../invitations/invitation-token";
import { type Config, readConfig } from "../lib/config";
import { describeError, type Logger } from "../lib/log";
import { type EmailJob, EmailJobSchema } from "../lib/queue-messages";
import { retryDelaySeconds } from "../lib/retry";
import {
  claimDelivery,
  claimHeld,
  type FailedAttempt,
  failDelivery,
  markSent,
  readDelivery,
  releaseDelivery,
  skipDelivery,
} from "./delivery.repository";
import { invitationEmail } from "./invitation-email";

/*
 * The INVITATION_EMAILS consumer: one invitation email per message, at most once per send.
 *
 * Per message: claim the attempt on the invitation's row (one conditional UPDATE), send through
 * the EMAIL binding, record SENT. A refusal that may pass (rate limits, outages, no error code)
 * gives the claim back and retries the message after EMAIL_RETRY_DELAY_SECONDS, doubling; a
 * refusal no retry fixes, or the EMAIL_MAX_ATTEMPTS-th, records FAILED. A message for a send that
 * is settled, superseded by a resend, or gone is acknowledged without sending. A claim found
 * lapsed, with no outcome recorded, means a Worker stopped between claiming and recording: the
 * Email Service may have accepted that email, so it is never sent again; the delivery is FAILED
 * with OUTCOME_UNKNOWN (docs/email.md says what that means for the invitee).
 */

/** Attempts of one send before it is given up. */
export const EMAIL_MAX_ATTEMPTS = 5;

/** How long an attempt holds its claim: far longer than a send takes. */
export const EMAIL_CLAIM_MS = 120_000;

/** Email Service error codes that no retry fixes (the message, the address or the sender is wrong). */
const PERMANENT_ERRORS = new Set([
  "E_VALIDATION_ERROR",
  "E_FIELD_MISSING",
  "E_TOO_MANY_RECIPIENTS",
  "E_SENDER_NOT_VERIFIED",
  "E_RECIPIENT_NOT_ALLOWED",
  "E_RECIPIENT_SUPPRESSED",
  "E_SENDER_DOMAIN_NOT_AVAILABLE",
  "E_CONTENT_TOO_LARGE",
  "E_HEADER_NOT_ALLOWED",
  "E_HEADER_USE_API_FIELD",
  "E_HEADER_VALUE_INVALID",
  "E_HEADER_VALUE_TOO_LONG",
  "E_HEADER_NAME_INVALID",
  "E_HEADERS_TOO_LARGE",
  "E_HEADERS_TOO_MANY",
]);

/** The error's code as stored and logged: the binding's `code` when it is one, never its message (it may name the address). */
function errorCode(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : "SEND_FAILED";
}

type Context = { db: Db; env: Env; config: Config; log: Logger };

/** What became of a message: settled (acknowledged), FAILED (acknowledged, an event to publish), or retried. */
type Outcome = "done" | "failed" | "retry";

function retryIn(message: Message<unknown>, seconds: number): Outcome {
  message.retry({ delaySeconds: Math.max(0, Math.ceil(seconds)) });
  return "retry";
}

/** Records FAILED (the trigger records the event) and says so; "done" when the send had moved on. */
async function fail(
  ctx: Pick<Context, "db" | "log">,
  job: EmailJob,
  error: string,
  attempt: FailedAttempt,
): Promise<Outcome> {
  const key = { id: job.invitationId, send: job.send };
  const failed = await failDelivery(ctx.db, { ...key, error, attempt });
  if (failed) ctx.log("warn", "Invitation email given up", { invitationId: key.id, send: key.send, error });
  return failed ? "failed" : "done";
}

/** The invitation could not be claimed: the row says why, and what to do with the message. */
async function unclaimed(
  ctx: Context,
  message: Message<unknown>,
  job: EmailJob,
  tokenHash: string,
  now: number,
): Promise<Outcome> {
  const row = await readDelivery(ctx.db, job.invitationId);
  const key = { id: job.invitationId, send: job.send };
  if (!row || row.resendCount !== job.send || row.deliveryStatus !== "QUEUED") return "done";
  if (claimHeld(row, now)) return retryIn(message, ((row.deliveryClaimedUntil ?? now) - now) / 1000);
  if (row.deliveryClaimedUntil !== null) {
    return fail(ctx, job, "OUTCOME_UNKNOWN", { kind: "lapsed", attempt: row.deliveryAttempts, now });
  }
  if (row.tokenHash !== tokenHash) {
    ctx.log("error", "The invitation's link was not made with this LINK_SECRET; its email is not sent", key);
    return fail(ctx, job, "LINK_CHANGED", { kind: "unclaimed", now });
  }
  if (effectiveStatus(row, now) !== "PENDING") {
    await skipDelivery(ctx.db, { ...key, now });
    return "done";
  }
  // Changed between the claim and this read: look again.
  return retryIn(message, 0);
}

/** What a claimed attempt sends: the job, the row as claimed, the sender and the link. */
type Attempt = { job: EmailJob; row: InvitationRow; from: NonNullable<Config["emailFrom"]>; link: string };

/** Sends the claimed attempt and records its outcome. */
async function send(ctx: Context, message: Message<unknown>, { job, row, from, link }: Attempt) {
  const key = { id: job.invitationId, send: job.send, attempt: row.deliveryAttempts };
  const content = await invitationEmail({ ...row, link });
  let messageId: string;
  try {
    ({ messageId } = await ctx.env.EMAIL.send({ from, to: row.email, ...content }));
  } catch (error) {
    const code = errorCode(error);
    const fields = { invitationId: key.id, send: key.send, attempt: key.attempt, error: code };
    if (PERMANENT_ERRORS.has(code) || key.attempt >= EMAIL_MAX_ATTEMPTS) {
      return fail(ctx, job, code, { kind: "held", attempt: key.attempt });
    }
    await releaseDelivery(ctx.db, { ...key, error: code });
    // The code only: the Email Service's message may name the address.
    ctx.log("warn", "Invitation email refused; will retry", fields);
    return retryIn(message, retryDelaySeconds(key.attempt, ctx.config.emailRetryDelaySeconds));
  }
  const recorded = await markSent(ctx.db, { ...key, now: Date.now() });
  ctx.log(
    recorded ? "info" : "warn",
    recorded ? "Invitation email sent" : "Invitation email sent, but its send had moved on",
    {
      invitationId: key.id,
      send: key.send,
      attempt: key.attempt,
      messageId,
    },
  );
  return "done";
}

/** One message: its job parsed, the link rebuilt, the attempt claimed and sent. */
async function deliver(ctx: Context, message: Message<unknown>): Promise<Outcome> {
  const parsed = EmailJobSchema.safeParse(message.body);
  if (!parsed.success) {
    ctx.log("error", "An email job that is not one was dropped", { messageId: message.id });
    return "done";
  }
  const job = parsed.data;
  const now = Date.now();
  const base = configuredLinkBase(ctx.config);
  const from = ctx.config.emailFrom;
  if (!from || !base) {
    ctx.log("error", "Invitation emails cannot be sent: set EMAIL_FROM, and PUBLIC_URL or INVITE_URL_BASE", {
      invitationId: job.invitationId,
    });
    if (message.attempts >= EMAIL_MAX_ATTEMPTS)
      return fail(ctx, job, "NOT_CONFIGURED", { kind: "unclaimed", now });
    return retryIn(message, retryDelaySeconds(message.attempts, ctx.config.emailRetryDelaySeconds));
  }
  const { token, tokenHash } = await invitationLink(ctx.config, job.invitationId, job.send);
  const key = { id: job.invitationId, send: job.send };
  const row = await claimDelivery(ctx.db, { ...key, tokenHash, now, until: now + EMAIL_CLAIM_MS });
  if (!row) return unclaimed(ctx, message, job, tokenHash, now);
  return send(ctx, message, { job, row, from, link: inviteUrl(base, token) });
}

/**
 * The consumer: every message of the batch at once (a batch is at most 10: 40 subrequests or
 * fewer). What is recorded FAILED produces an invitation.delivery_failed event, whose publication
 * is asked for once for the batch. A configuration that does not validate sends nothing: every
 * message is retried, and logged.
 */
export async function sendInvitationEmails(
  batch: MessageBatch<unknown>,
  env: Env,
  log: Logger,
  d1: D1Database = databaseFor(env),
): Promise<void> {
  let config: Config;
  try {
    config = readConfig(env);
  } catch (error) {
    log("error", "The configuration is invalid; invitation emails are kept for retry", {
      error: describeError(error),
    });
    for (const message of batch.messages)
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, 60) });
    return;
  }
  const ctx: Context = { db: createDb(d1), env, config, log };
  const outcomes = await Promise.all(
    batch.messages.map(async (message) => {
      try {
        const outcome = await deliver(ctx, message);
        if (outcome !== "retry") message.ack();
        return outcome;
      } catch (error) {
        // D1 failed, most likely: nothing was sent that is not recorded, or the claim lapses.
        log("error", "Invitation email job failed; will retry", {
          messageId: message.id,
          error: describeError(error),
        });
        return retryIn(message, retryDelaySeconds(message.attempts, config.emailRetryDelaySeconds));
      }
    }),
  );
  if (outcomes.includes("failed")) await requestPublish(env.INVITATION_JOBS, log);
}

/**
 * The dead-letter consumer: messages the sender could not settle in all the queue's tries. Each
 * send still QUEUED is recorded FAILED: RETRIES_EXHAUSTED, or OUTCOME_UNKNOWN when an attempt was
 * claimed and never recorded (an attempt still in flight is waited for).
 */
export async function giveUpInvitationEmails(
  batch: MessageBatch<unknown>,
  env: Env,
  log: Logger,
  d1: D1Database = databaseFor(env),
): Promise<void> {
  const db = createDb(d1);
  let failed = false;
  for (const message of batch.messages) {
    const parsed = EmailJobSchema.safeParse(message.body);
    const row = parsed.success ? await readDelivery(db, parsed.data.invitationId) : undefined;
    const now = Date.now();
    if (!parsed.success || !row || row.resendCount !== parsed.data.send || row.deliveryStatus !== "QUEUED") {
      message.ack();
      continue;
    }
    if (claimHeld(row, now)) {
      retryIn(message, ((row.deliveryClaimedUntil ?? now) - now) / 1000);
      continue;
    }
    const attempt: FailedAttempt =
      row.deliveryClaimedUntil === null
        ? { kind: "unclaimed", now }
        : { kind: "lapsed", attempt: row.deliveryAttempts, now };
    const error = attempt.kind === "lapsed" ? "OUTCOME_UNKNOWN" : "RETRIES_EXHAUSTED";
    failed = (await fail({ db, log }, parsed.data, error, attempt)) === "failed" || failed;
    message.ack();
  }
  if (failed) await requestPublish(env.INVITATION_JOBS, log);
}
