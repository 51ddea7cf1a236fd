/*
 * The scene every property runs in: an attacker organization, whose members send the generated
 * requests, and a victim organization, whose data must never reach them. `known` grows as runs
 * create invitations; `victim` is filled in by the test file's beforeAll.
 */

export const ATTACKER_ORG = crypto.randomUUID();
export const VICTIM_ORG = crypto.randomUUID();

/** Long random tags: no generated string can contain them by chance. */
export const victimTag = crypto.randomUUID().replaceAll("-", "");
export const VICTIM_ADMIN_SUB = `victim-admin-${victimTag}`;
export const VICTIM_INVITEE_SUB = `victim-invitee-${victimTag}`;
export const victimEmail = (n: number) => `victim-${n}-${victimTag}@victim-corp.example`;

/** Everything of the victim's that must never reach the attacker; filled in by `beforeAll`. */
export const victim = {
  ids: [] as string[],
  markers: [VICTIM_ORG, VICTIM_ADMIN_SUB, VICTIM_INVITEE_SUB] as string[],
};

/** Subs the attacker's members sign as; the odd ones are valid claims too. */
export const ATTACKER_SUBS = [
  "attacker-admin",
  "attacker-operator",
  "Ünïcødé ☃ user",
  "x".repeat(255),
] as const;

/**
 * Invitations the attacker knows about (seeded, or returned by a successful create or resend),
 * newest last. Runs pick from it by index counted from the newest; fast-check favours small
 * numbers, so recent invitations come up most.
 */
export const known: { id: string; email: string; token: string }[] = [];

export function knownAt(pick: number) {
  return known[known.length - 1 - (pick % known.length)] ?? { id: "", email: "", token: "" };
}
