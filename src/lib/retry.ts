/**
 * Seconds before the next try of a queue message whose `attempts`-th try failed: `first`,
 * doubling with each attempt, at most an hour. The webhook and the email sender both back off so.
 */
export function retryDelaySeconds(attempts: number, first: number): number {
  return Math.min(first * 2 ** Math.max(0, attempts - 1), 3600);
}
