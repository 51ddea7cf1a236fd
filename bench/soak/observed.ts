/**
 * What the soak saw: every answer counted and timed, the checks made on answers as they came, what
 * the API said it did (to compare with the database afterwards) and the races that really happened.
 * The traffic records here; the invariants and the summary read it. One soak per process, so one
 * record per process.
 */
import { OPERATIONS, type Operation } from "./settings.ts";

/** A check made on answers during the traffic: how many it judged, how many failed, a few examples. */
export type Check = { checked: number; failed: number; examples: string[] };
const newCheck = (): Check => ({ checked: 0, failed: 0, examples: [] });
export function failCheck(check: Check, example: string) {
  check.failed++;
  if (check.examples.length < 5) check.examples.push(example);
}

export const observed = {
  latencies: new Map<Operation, number[]>(OPERATIONS.map((op) => [op, []])),
  /** Status counts per operation; 0 stands for "no answer" (connection error or timeout). */
  statuses: new Map<Operation, Map<number, number>>(OPERATIONS.map((op) => [op, new Map()])),
  transportErrors: [] as string[],
  limiter429: 0,
  cooldown429: 0,

  checks: {
    envelope: newCheck(),
    response: newCheck(),
    tenancy: newCheck(),
    wrongAddress: newCheck(),
  },

  /** What the API said it did, by invitation id. */
  created: new Map<string, { org: string; email: string }>(),
  revokedBy: new Map<string, string[]>(),
  acceptedBy: new Map<string, string[]>(),
  resends: new Map<string, number>(),

  /** Races that really happened: a request that started while a conflicting one was in flight. */
  races: { createSameAddress: 0, revokeOrAcceptSameInvitation: 0, resendWhileAcceptOrRevoke: 0 },
};

export function countStatus(op: Operation, status: number) {
  const counts = observed.statuses.get(op);
  counts?.set(status, (counts.get(status) ?? 0) + 1);
}

/** Status counts over every operation. */
export function allStatuses(): Map<number, number> {
  const all = new Map<number, number>();
  for (const counts of observed.statuses.values()) {
    for (const [status, n] of counts) all.set(status, (all.get(status) ?? 0) + n);
  }
  return all;
}

/** Requests made so far, answered or not. */
export const requestCount = () => [...allStatuses().values()].reduce((sum, n) => sum + n, 0);
