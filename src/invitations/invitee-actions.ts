import type { Db } from "../db/client";
import type { InvitationRow } from "../db/schema";
import type { Invitee } from "../lib/app-env";
import { ApiError } from "../lib/errors";
import { effectiveStatus } from "./invitation-status";
import { hashInvitationToken } from "./invitation-token";
import { type Answer, answerInvitation, type Target } from "./invitee.repository";

/*
 * What an invitee can do with an invitation, by its link or from their inbox: accept it or
 * decline it. Each returns the changed row or throws the ApiError that says why not; callers
 * (the API's handlers, the hosted page) audit and render. Nothing here reads the request.
 */

/**
 * Why an answer changed nothing, from the row as the same snapshot saw it: gone (or, from the
 * inbox, sent to another address), sent to another address than the token's (by link), or no
 * longer pending.
 */
function refusal(current: InvitationRow | undefined, now: number, email: string | undefined): ApiError {
  if (!current) return new ApiError("INVITATION_NOT_FOUND");
  if (email !== undefined && current.email !== email) return new ApiError("INVITATION_EMAIL_MISMATCH");
  switch (effectiveStatus(current, now)) {
    case "ACCEPTED":
      return new ApiError("INVITATION_ALREADY_ACCEPTED");
    case "REVOKED":
      return new ApiError("INVITATION_REVOKED");
    case "EXPIRED":
      return new ApiError("INVITATION_EXPIRED");
    case "DECLINED":
      return new ApiError("INVITATION_DECLINED");
    case "PENDING":
      // The update and the probe share one snapshot: a live invitation that matched was answered.
      throw new Error("An answer changed no row, yet the invitation is live and addressed to the caller");
  }
}

async function answer(db: Db, input: Answer): Promise<InvitationRow> {
  const result = await answerInvitation(db, input);
  if (result.changed) return result.changed;
  throw refusal(result.current, input.now, input.email);
}

const byToken = async (token: string): Promise<Target> => ({ tokenHash: await hashInvitationToken(token) });

/** Accepts, as `invitee`, the invitation of a link's `token`: only one sent to the invitee's address. */
export async function acceptByToken(db: Db, token: string, invitee: Invitee, now: number) {
  const target = await byToken(token);
  return answer(db, { target, answer: "accept", userId: invitee.userId, email: invitee.email, now });
}

/**
 * Declines the invitation of a link's `token`. The link is the credential, as for the preview:
 * whoever holds it may say no (the hosted page's Decline button needs no sign-in), and there is
 * no user to record.
 */
export async function declineByToken(db: Db, token: string, now: number) {
  return answer(db, { target: await byToken(token), answer: "decline", userId: null, now });
}

/** Accepts, from the inbox, invitation `id` sent to the invitee's address (any other is not found). */
export function acceptById(db: Db, id: string, invitee: Invitee, now: number) {
  const target = { id, email: invitee.email };
  return answer(db, { target, answer: "accept", userId: invitee.userId, now });
}

/** Declines, from the inbox, invitation `id` sent to the invitee's address (any other is not found). */
export function declineById(db: Db, id: string, invitee: Invitee, now: number) {
  const target = { id, email: invitee.email };
  return answer(db, { target, answer: "decline", userId: invitee.userId, now });
}
