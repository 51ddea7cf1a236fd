import { and, eq, isNotNull, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type InvitationRow, invitations } from "../db/schema";
import { isLive } from "../invitations/invitation-status";

/*
 * The invitation email's bookkeeping on the invitation's row, and nothing else. Every write is
 * conditional on the send it is for (the invitation's id and send number, `resend_count`) still
 * being QUEUED: a resend (a new send number) or a settled delivery makes an older message's write
 * change nothing. The claim (`delivery_claimed_until`, taken before the Email Service is called,
 * cleared by the attempt's outcome) is what keeps an email to at most one send per create or
 * resend when the queue delivers its message twice.
 */

/** One send of one invitation: what an email job names. */
export type SendKey = { id: string; send: number };

/** The send is the invitation's current one and its email still QUEUED. */
function queued({ id, send }: SendKey): SQL | undefined {
  return and(
    eq(invitations.id, id),
    eq(invitations.resendCount, send),
    eq(invitations.deliveryStatus, "QUEUED"),
  );
}

/** The invitation as it stands (any organization: an email job carries no caller), or undefined. */
export async function readDelivery(db: Db, id: string): Promise<InvitationRow | undefined> {
  const [row] = await db.select().from(invitations).where(eq(invitations.id, id));
  return row;
}

/**
 * Claims the next attempt of a QUEUED send: counts it, stamps it, and holds it until `until`,
 * when nobody holds it, the invitation is live (PENDING, not expired at `now`) and its stored link
 * is the one `tokenHash` digests (so the email can only carry the link the invitation has). One
 * conditional UPDATE: of two consumers with the same message, one gets the row. Returns the row
 * claimed (with its new attempt count), or undefined.
 */
export async function claimDelivery(
  db: Db,
  key: SendKey & { tokenHash: string; now: number; until: number },
): Promise<InvitationRow | undefined> {
  const [row] = await db
    .update(invitations)
    .set({
      deliveryAttempts: sql`${invitations.deliveryAttempts} + 1`,
      deliveryLastAttemptAt: key.now,
      deliveryClaimedUntil: key.until,
    })
    .where(
      and(
        queued(key),
        isNull(invitations.deliveryClaimedUntil),
        eq(invitations.tokenHash, key.tokenHash),
        isLive(key.now),
      ),
    )
    .returning();
  return row;
}

/** The claim of attempt `attempt`, still held. */
const heldAttempt = (attempt: number) =>
  and(eq(invitations.deliveryAttempts, attempt), isNotNull(invitations.deliveryClaimedUntil));

/** Records the claimed attempt as accepted by the Email Service at `now`. False if the claim was lost. */
export async function markSent(db: Db, key: SendKey & { attempt: number; now: number }): Promise<boolean> {
  const changed = await db
    .update(invitations)
    .set({
      deliveryStatus: "SENT",
      deliverySentAt: key.now,
      deliveryClaimedUntil: null,
      deliveryLastError: null,
    })
    .where(and(queued(key), heldAttempt(key.attempt)))
    .returning({ id: invitations.id });
  return changed.length > 0;
}

/** Gives the claimed attempt up (the Email Service refused it), recording why: the send stays QUEUED. */
export async function releaseDelivery(
  db: Db,
  key: SendKey & { attempt: number; error: string },
): Promise<void> {
  await db
    .update(invitations)
    .set({ deliveryClaimedUntil: null, deliveryLastError: key.error })
    .where(and(queued(key), heldAttempt(key.attempt)));
}

/**
 * Which attempt a failure is recorded for: the one this consumer holds (`held`), one whose claim
 * lapsed by `now` with no outcome recorded (`lapsed`: its holder stopped), or none, when no
 * attempt was claimed (`unclaimed`: the email could not even be tried).
 */
export type FailedAttempt =
  | { kind: "held"; attempt: number }
  | { kind: "lapsed"; attempt: number; now: number }
  | { kind: "unclaimed"; now: number };

function attemptCondition(attempt: FailedAttempt): SQL | undefined {
  switch (attempt.kind) {
    case "held":
      return heldAttempt(attempt.attempt);
    case "lapsed":
      return and(
        eq(invitations.deliveryAttempts, attempt.attempt),
        lte(invitations.deliveryClaimedUntil, attempt.now),
      );
    case "unclaimed":
      return isNull(invitations.deliveryClaimedUntil);
  }
}

/**
 * Records the send's email as FAILED for good, with `error`. The outbox trigger records
 * invitation.delivery_failed in the same statement. The invitation's own status is untouched.
 * False when the send was no longer QUEUED in that state (settled, resent, or claimed meanwhile).
 */
export async function failDelivery(
  db: Db,
  key: SendKey & { error: string; attempt: FailedAttempt },
): Promise<boolean> {
  const { attempt } = key;
  const changed = await db
    .update(invitations)
    .set({
      deliveryStatus: "FAILED",
      deliveryLastError: key.error,
      deliveryClaimedUntil: null,
      // A failure before any attempt is dated now: the event's occurredAt is the last attempt.
      ...(attempt.kind === "unclaimed" && {
        deliveryLastAttemptAt: sql`coalesce(${invitations.deliveryLastAttemptAt}, ${attempt.now})`,
      }),
    })
    .where(and(queued(key), attemptCondition(attempt)))
    .returning({ id: invitations.id });
  return changed.length > 0;
}

/** Records that the send's email will not go: the invitation stopped being pending before it did. */
export async function skipDelivery(db: Db, key: SendKey & { now: number }): Promise<void> {
  await db
    .update(invitations)
    .set({ deliveryStatus: "SKIPPED" })
    .where(and(queued(key), isNull(invitations.deliveryClaimedUntil), sql`NOT (${isLive(key.now)})`));
}

/** The claim on a row holds at `now` (another attempt is in flight). */
export function claimHeld(row: InvitationRow, now: number): boolean {
  return row.deliveryClaimedUntil !== null && row.deliveryClaimedUntil > now;
}
