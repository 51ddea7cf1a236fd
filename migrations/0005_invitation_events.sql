CREATE TABLE `invitation_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`organization_id` text NOT NULL,
	`invitation_id` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`invitation` text NOT NULL,
	`published_at` integer,
	`claimed_until` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invitation_events_id_unique` ON `invitation_events` (`id`);--> statement-breakpoint
CREATE INDEX `invitation_events_published_idx` ON `invitation_events` (`published_at`);
--> statement-breakpoint
-- The outbox is written by the database itself, like organization_invitation_counts: each trigger
-- runs inside the statement that changes an invitation (so within that statement's db.batch too),
-- and the event commits or rolls back with the change, whether the app, the sweep or SQL run by
-- hand made it. The event's id is a random UUID (version 4; `random() & 3` picks its variant
-- digit). The row snapshot leaves out token_hash: events never carry the link. Each trigger spells
-- the snapshot out from NEW: reading it from one shared view measured one more row read per event
-- (8 instead of 7 per swept invitation), and D1 bills rows read.
CREATE TRIGGER `invitations_event_after_insert` AFTER INSERT ON `invitations`
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  VALUES (
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
    'invitation.created', NEW.`organization_id`, NEW.`id`, NEW.`created_at`,
    json_object(
      'id', NEW.`id`, 'organizationId', NEW.`organization_id`, 'email', NEW.`email`, 'role', NEW.`role`,
      'status', NEW.`status`, 'invitedBy', NEW.`invited_by`, 'createdAt', NEW.`created_at`,
      'updatedAt', NEW.`updated_at`, 'expiresAt', NEW.`expires_at`, 'acceptedAt', NEW.`accepted_at`,
      'acceptedBy', NEW.`accepted_by`, 'revokedAt', NEW.`revoked_at`, 'revokedBy', NEW.`revoked_by`,
      'resendCount', NEW.`resend_count`, 'lastSentAt', NEW.`last_sent_at`));
END;
--> statement-breakpoint
-- Accepted, revoked, expired: a real change of status into one of them. Resend moves EXPIRED back to
-- PENDING, which is the resent event below, not a status event.
CREATE TRIGGER `invitations_event_after_status_change` AFTER UPDATE OF `status` ON `invitations`
WHEN NEW.`status` <> OLD.`status` AND NEW.`status` IN ('ACCEPTED', 'REVOKED', 'EXPIRED')
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  VALUES (
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
    'invitation.' || lower(NEW.`status`), NEW.`organization_id`, NEW.`id`, NEW.`updated_at`,
    json_object(
      'id', NEW.`id`, 'organizationId', NEW.`organization_id`, 'email', NEW.`email`, 'role', NEW.`role`,
      'status', NEW.`status`, 'invitedBy', NEW.`invited_by`, 'createdAt', NEW.`created_at`,
      'updatedAt', NEW.`updated_at`, 'expiresAt', NEW.`expires_at`, 'acceptedAt', NEW.`accepted_at`,
      'acceptedBy', NEW.`accepted_by`, 'revokedAt', NEW.`revoked_at`, 'revokedBy', NEW.`revoked_by`,
      'resendCount', NEW.`resend_count`, 'lastSentAt', NEW.`last_sent_at`));
END;
--> statement-breakpoint
CREATE TRIGGER `invitations_event_after_resend` AFTER UPDATE OF `resend_count` ON `invitations`
WHEN NEW.`resend_count` > OLD.`resend_count`
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  VALUES (
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
    'invitation.resent', NEW.`organization_id`, NEW.`id`, NEW.`updated_at`,
    json_object(
      'id', NEW.`id`, 'organizationId', NEW.`organization_id`, 'email', NEW.`email`, 'role', NEW.`role`,
      'status', NEW.`status`, 'invitedBy', NEW.`invited_by`, 'createdAt', NEW.`created_at`,
      'updatedAt', NEW.`updated_at`, 'expiresAt', NEW.`expires_at`, 'acceptedAt', NEW.`accepted_at`,
      'acceptedBy', NEW.`accepted_by`, 'revokedAt', NEW.`revoked_at`, 'revokedBy', NEW.`revoked_by`,
      'resendCount', NEW.`resend_count`, 'lastSentAt', NEW.`last_sent_at`));
END;
