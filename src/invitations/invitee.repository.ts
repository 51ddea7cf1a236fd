import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import { unionAll } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { invitations, type Status } from "../db/schema";
import { isLive } from "./invitation-status";
import { type WriteResult, writeResult } from "./invitations.repository";
import { literal, statusRanges } from "./list-plan";

/*
 * The invitee's statements: accept and decline, by the link's token or by id from the inbox, and
 * the inbox's page. Each write is one conditional UPDATE guarded by the status in its WHERE (live
 * PENDING only), with a probe of the row in the same batch (one snapshot): of concurrent accepts,
 * declines, revokes and the sweep, exactly one changes the row, and the others learn why not.
 */

/**
 * Which invitation: the one a link's token belongs to, or (from the inbox) the one with this id
 * sent to this address. An id sent to another address is not found, like an unknown one.
 */
export type Target = { tokenHash: string } | { id: string; email: string };

function targetOf(target: Target): SQL {
  return "tokenHash" in target
    ? eq(invitations.tokenHash, target.tokenHash)
    : (and(eq(invitations.id, target.id), eq(invitations.email, target.email)) as SQL);
}

/** Accept or decline: the status it records, with its time and user columns. */
function answerSet(answer: "accept" | "decline", userId: string | null, now: number) {
  return answer === "accept"
    ? { status: "ACCEPTED" as const, acceptedAt: now, acceptedBy: userId, updatedAt: now }
    : { status: "DECLINED" as const, declinedAt: now, declinedBy: userId, updatedAt: now };
}

export type Answer = {
  target: Target;
  answer: "accept" | "decline";
  /** The invitee's user (token `sub`); null for a decline by link, which has no user. */
  userId: string | null;
  /** When set, only an invitation sent to this address changes (accept always sets it). */
  email?: string;
  now: number;
};

/**
 * Accepts or declines the live PENDING invitation `target` names (sent to `email`, when given).
 * One conditional UPDATE, so of two concurrent answers (or an answer and a revoke, or the sweep)
 * exactly one changes the row; the probe in the same batch says why nothing changed otherwise.
 */
export async function answerInvitation(db: Db, input: Answer): Promise<WriteResult> {
  const where = targetOf(input.target);
  const [changed, current] = await db.batch([
    db
      .update(invitations)
      .set(answerSet(input.answer, input.userId, input.now))
      .where(
        and(
          where,
          input.email === undefined ? undefined : eq(invitations.email, input.email),
          isLive(input.now),
        ),
      )
      .returning(),
    db.select().from(invitations).where(where),
  ]);
  return writeResult(changed, current);
}

export type InboxQuery = {
  email: string;
  statuses: readonly Status[];
  limit: number;
  /** The (createdAt, id) of the last row of the page before. */
  after?: readonly [number, string];
  now: number;
};

/**
 * A page of the invitations sent to `email`, across organizations, newest first (`created_at`,
 * then `id`, descending). One range of (email, status, created_at, id) per stored status asked
 * for, merged in order, as the list does (list-plan.ts): it reads about the rows it shows, plus
 * the PENDING rows past their expiry that the sweep has not stored yet when only one of PENDING
 * and EXPIRED is asked for.
 */
export function inboxPage(db: Db, query: InboxQuery) {
  const arms = statusRanges(query.statuses).map(({ status, expiry }) =>
    db
      .select()
      .from(invitations)
      .where(
        and(
          eq(invitations.email, query.email),
          sql`${invitations.status} = ${literal(status)}`,
          expiry === "live" ? sql`+${invitations.expiresAt} > ${query.now}` : undefined,
          expiry === "due" ? sql`+${invitations.expiresAt} <= ${query.now}` : undefined,
          query.after &&
            sql`(${invitations.createdAt}, ${invitations.id}) < (${query.after[0]}, ${query.after[1]})`,
        ),
      )
      .$dynamic(),
  );
  const [first, second, ...rest] = arms;
  if (!first) throw new Error("An inbox query asks for at least one status");
  return (second ? unionAll(first, second, ...rest) : first)
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .limit(query.limit);
}
