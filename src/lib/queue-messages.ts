import { z } from "@hono/zod-openapi";

/*
 * The messages of the Worker's own queues, which several capabilities send and read: the outbox
 * publisher sends email jobs (INVITATION_EMAILS) that the email sender reads, and writes, the cron
 * and the jobs consumer send themselves background jobs (INVITATION_JOBS). Parsed, never cast:
 * whatever sits in a queue may be older than the code reading it.
 */

/** Send the email of an invitation's `send`-th send (0 at create, then one per resend). */
export const EmailJobSchema = z.object({
  kind: z.literal("invitation-email"),
  invitationId: z.string(),
  send: z.number().int().min(0),
});
export type EmailJob = z.infer<typeof EmailJobSchema>;

/**
 * Background work: publish the outbox (after a write, or what a run left), or go on sweeping the
 * invitations due at `cutoff` (what a cron run left), publishing as it goes.
 */
export const JobSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("publish") }),
  z.object({ kind: z.literal("sweep"), cutoff: z.number().int() }),
]);
export type Job = z.infer<typeof JobSchema>;

/** The "publish the outbox" job. */
export const PUBLISH_JOB: Job = { kind: "publish" };

/** Which of the Worker's consumers a batch is for, from what its messages are. */
export function messageKind(body: unknown): "email" | "job" | "event" {
  const kind = typeof body === "object" && body !== null ? (body as { kind?: unknown }).kind : undefined;
  if (kind === "invitation-email") return "email";
  if (kind === "publish" || kind === "sweep") return "job";
  return "event";
}
