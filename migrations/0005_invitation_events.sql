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
-- hand made it.
--
-- What an event carries of the invitation, in one place for the three triggers: its columns as a
-- JSON object, without token_hash (events never carry the link), and a fresh event id, a random
-- UUID (version 4; `random() & 3` picks its variant digit), drawn anew each time a row is read.
CREATE VIEW `invitation_event_snapshots` AS
SELECT
  `id`,
  `organization_id`,
  lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) AS `event_id`,
  json_object(
    'id', `id`, 'organizationId', `organization_id`, 'email', `email`, 'role', `role`,
    'status', `status`, 'invitedBy', `invited_by`, 'createdAt', `created_at`,
    'updatedAt', `updated_at`, 'expiresAt', `expires_at`, 'acceptedAt', `accepted_at`,
    'acceptedBy', `accepted_by`, 'revokedAt', `revoked_at`, 'revokedBy', `revoked_by`,
    'resendCount', `resend_count`, 'lastSentAt', `last_sent_at`) AS `invitation`
FROM `invitations`;
--> statement-breakpoint
CREATE TRIGGER `invitations_event_after_insert` AFTER INSERT ON `invitations`
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  SELECT `event_id`, 'invitation.created', `organization_id`, `id`, NEW.`created_at`, `invitation`
  FROM `invitation_event_snapshots` WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
-- Accepted, revoked, expired: a real change of status into one of them. Resend moves EXPIRED back to
-- PENDING, which is the resent event below, not a status event.
CREATE TRIGGER `invitations_event_after_status_change` AFTER UPDATE OF `status` ON `invitations`
WHEN NEW.`status` <> OLD.`status` AND NEW.`status` IN ('ACCEPTED', 'REVOKED', 'EXPIRED')
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  SELECT `event_id`, 'invitation.' || lower(NEW.`status`), `organization_id`, `id`, NEW.`updated_at`, `invitation`
  FROM `invitation_event_snapshots` WHERE `id` = NEW.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `invitations_event_after_resend` AFTER UPDATE OF `resend_count` ON `invitations`
WHEN NEW.`resend_count` > OLD.`resend_count`
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  SELECT `event_id`, 'invitation.resent', `organization_id`, `id`, NEW.`updated_at`, `invitation`
  FROM `invitation_event_snapshots` WHERE `id` = NEW.`id`;
END;
