CREATE TABLE `leases` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text,
	`held_until` integer NOT NULL,
	`position` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
-- The outbox publisher's lease (see src/events/outbox.repository.ts), free, with its position:
-- every event before the first one not yet published counts as published. Events published by
-- the per-row marks this migration replaces, after that first unpublished one, are sent once more
-- (delivery is at least once).
INSERT INTO `leases` (`name`, `holder`, `held_until`, `position`)
VALUES ('invitation_events', NULL, 0, coalesce(
  (SELECT min(`seq`) - 1 FROM `invitation_events` WHERE `published_at` IS NULL),
  (SELECT max(`seq`) FROM `invitation_events`),
  0));
--> statement-breakpoint
DROP INDEX `invitation_events_published_idx`;--> statement-breakpoint
CREATE INDEX `invitation_events_occurred_idx` ON `invitation_events` (`occurred_at`);--> statement-breakpoint
ALTER TABLE `invitation_events` DROP COLUMN `published_at`;--> statement-breakpoint
ALTER TABLE `invitation_events` DROP COLUMN `claimed_until`;--> statement-breakpoint
ALTER TABLE `invitations` ADD `inviter_name` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `organization_name` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `delivery_status` text DEFAULT 'SKIPPED' NOT NULL;--> statement-breakpoint
ALTER TABLE `invitations` ADD `delivery_attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `invitations` ADD `delivery_last_attempt_at` integer;--> statement-breakpoint
ALTER TABLE `invitations` ADD `delivery_sent_at` integer;--> statement-breakpoint
ALTER TABLE `invitations` ADD `delivery_last_error` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `delivery_claimed_until` integer;
--> statement-breakpoint
-- The outbox triggers of migration 0005, again: the snapshot gains the new columns (the names and
-- the delivery), and the three triggers become two. One AFTER UPDATE trigger records a resend, a
-- change of status into ACCEPTED, REVOKED or EXPIRED, and a delivery that failed for good
-- (invitation.delivery_failed, at its last attempt); a single statement that did two of these at
-- once (no code path does) records the first in that order. As in 0005, each trigger spells the
-- snapshot out from NEW (a shared view costs a row read per event), never with token_hash.
DROP TRIGGER `invitations_event_after_status_change`;
--> statement-breakpoint
DROP TRIGGER `invitations_event_after_resend`;
--> statement-breakpoint
DROP TRIGGER `invitations_event_after_insert`;
--> statement-breakpoint
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
      'resendCount', NEW.`resend_count`, 'lastSentAt', NEW.`last_sent_at`,
      'inviterName', NEW.`inviter_name`, 'organizationName', NEW.`organization_name`,
      'deliveryStatus', NEW.`delivery_status`, 'deliveryAttempts', NEW.`delivery_attempts`,
      'deliveryLastAttemptAt', NEW.`delivery_last_attempt_at`, 'deliverySentAt', NEW.`delivery_sent_at`,
      'deliveryLastError', NEW.`delivery_last_error`, 'deliveryClaimedUntil', NEW.`delivery_claimed_until`));
END;
--> statement-breakpoint
CREATE TRIGGER `invitations_event_after_update` AFTER UPDATE ON `invitations`
WHEN NEW.`resend_count` > OLD.`resend_count`
  OR (NEW.`status` <> OLD.`status` AND NEW.`status` IN ('ACCEPTED', 'REVOKED', 'EXPIRED'))
  OR (NEW.`delivery_status` = 'FAILED' AND OLD.`delivery_status` <> 'FAILED')
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  VALUES (
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
    CASE
      WHEN NEW.`resend_count` > OLD.`resend_count` THEN 'invitation.resent'
      WHEN NEW.`status` <> OLD.`status` AND NEW.`status` IN ('ACCEPTED', 'REVOKED', 'EXPIRED') THEN 'invitation.' || lower(NEW.`status`)
      ELSE 'invitation.delivery_failed'
    END,
    NEW.`organization_id`, NEW.`id`,
    CASE
      WHEN NEW.`resend_count` > OLD.`resend_count` OR NEW.`status` <> OLD.`status` THEN NEW.`updated_at`
      ELSE coalesce(NEW.`delivery_last_attempt_at`, NEW.`updated_at`)
    END,
    json_object(
      'id', NEW.`id`, 'organizationId', NEW.`organization_id`, 'email', NEW.`email`, 'role', NEW.`role`,
      'status', NEW.`status`, 'invitedBy', NEW.`invited_by`, 'createdAt', NEW.`created_at`,
      'updatedAt', NEW.`updated_at`, 'expiresAt', NEW.`expires_at`, 'acceptedAt', NEW.`accepted_at`,
      'acceptedBy', NEW.`accepted_by`, 'revokedAt', NEW.`revoked_at`, 'revokedBy', NEW.`revoked_by`,
      'resendCount', NEW.`resend_count`, 'lastSentAt', NEW.`last_sent_at`,
      'inviterName', NEW.`inviter_name`, 'organizationName', NEW.`organization_name`,
      'deliveryStatus', NEW.`delivery_status`, 'deliveryAttempts', NEW.`delivery_attempts`,
      'deliveryLastAttemptAt', NEW.`delivery_last_attempt_at`, 'deliverySentAt', NEW.`delivery_sent_at`,
      'deliveryLastError', NEW.`delivery_last_error`, 'deliveryClaimedUntil', NEW.`delivery_claimed_until`));
END;
