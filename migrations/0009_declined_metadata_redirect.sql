-- DECLINED joins the statuses, which a CHECK constraint lists, and SQLite cannot change a CHECK in
-- place: the table is rebuilt. The old table is renamed aside, the new one created under the real
-- name and filled, the old one dropped (with its triggers and indexes: no trigger fires on the
-- copy or the drop, so the counters tables stay as they are, exact), then every index and trigger
-- of migrations 0000..0008 is created again on the new table, as they stood after 0008, with
-- these changes: the outbox's snapshot gains the new columns (metadata as JSON objects), its update
-- trigger records DECLINED (invitation.declined) and a change of metadata or redirect URL
-- (invitation.updated); the inbox gets its index, (email, status, created_at, id).
ALTER TABLE `invitations` RENAME TO `invitations_before_0009`;
--> statement-breakpoint
CREATE TABLE `invitations` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`email` text NOT NULL,
	`role` text NOT NULL,
	`status` text NOT NULL,
	`invited_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`accepted_at` integer,
	`accepted_by` text,
	`revoked_at` integer,
	`revoked_by` text,
	`token_hash` text,
	`resend_count` integer DEFAULT 0 NOT NULL,
	`last_sent_at` integer,
	`inviter_name` text,
	`organization_name` text,
	`delivery_status` text DEFAULT 'SKIPPED' NOT NULL,
	`delivery_attempts` integer DEFAULT 0 NOT NULL,
	`delivery_last_attempt_at` integer,
	`delivery_sent_at` integer,
	`delivery_last_error` text,
	`delivery_claimed_until` integer,
	`declined_at` integer,
	`declined_by` text,
	`public_metadata` text,
	`private_metadata` text,
	`redirect_url` text,
	CONSTRAINT "invitations_role_check" CHECK("invitations"."role" IN ('ORG_ADMIN', 'OPERATOR', 'VIEWER')),
	CONSTRAINT "invitations_status_check" CHECK("invitations"."status" IN ('PENDING', 'ACCEPTED', 'REVOKED', 'EXPIRED', 'DECLINED'))
);
--> statement-breakpoint
INSERT INTO `invitations` (`id`, `organization_id`, `email`, `role`, `status`, `invited_by`, `created_at`, `updated_at`, `expires_at`, `accepted_at`, `accepted_by`, `revoked_at`, `revoked_by`, `token_hash`, `resend_count`, `last_sent_at`, `inviter_name`, `organization_name`, `delivery_status`, `delivery_attempts`, `delivery_last_attempt_at`, `delivery_sent_at`, `delivery_last_error`, `delivery_claimed_until`)
SELECT `id`, `organization_id`, `email`, `role`, `status`, `invited_by`, `created_at`, `updated_at`, `expires_at`, `accepted_at`, `accepted_by`, `revoked_at`, `revoked_by`, `token_hash`, `resend_count`, `last_sent_at`, `inviter_name`, `organization_name`, `delivery_status`, `delivery_attempts`, `delivery_last_attempt_at`, `delivery_sent_at`, `delivery_last_error`, `delivery_claimed_until` FROM `invitations_before_0009`;
--> statement-breakpoint
DROP TABLE `invitations_before_0009`;
--> statement-breakpoint
CREATE INDEX `invitations_org_created_idx` ON `invitations` (`organization_id`,`created_at`,`id`);
--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_one_pending_per_email_idx` ON `invitations` (`organization_id`,`email`) WHERE "invitations"."status" = 'PENDING';
--> statement-breakpoint
CREATE INDEX `invitations_status_expires_idx` ON `invitations` (`status`,`expires_at`);
--> statement-breakpoint
CREATE INDEX `invitations_email_status_created_idx` ON `invitations` (`email`,`status`,`created_at`,`id`);
--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_token_hash_idx` ON `invitations` (`token_hash`);
--> statement-breakpoint
CREATE INDEX `invitations_org_email_created_idx` ON `invitations` (`organization_id`,`email`,`created_at`,`id`);
--> statement-breakpoint
CREATE INDEX `invitations_org_status_role_created_idx` ON `invitations` (`organization_id`,`status`,`role`,`created_at`,`id`);
--> statement-breakpoint
CREATE INDEX `invitations_org_status_role_expires_idx` ON `invitations` (`organization_id`,`status`,`role`,`expires_at`,`id`);
--> statement-breakpoint
CREATE INDEX `invitations_org_status_role_email_idx` ON `invitations` (`organization_id`,`status`,`role`,`email`,`created_at`,`id`);
--> statement-breakpoint
CREATE INDEX `invitations_org_inviter_created_idx` ON `invitations` (`organization_id`,`invited_by`,`status`,`role`,`created_at`,`id`);
--> statement-breakpoint
CREATE INDEX `invitations_org_inviter_expires_idx` ON `invitations` (`organization_id`,`invited_by`,`status`,`role`,`expires_at`,`id`);
--> statement-breakpoint
CREATE INDEX `invitations_org_inviter_email_idx` ON `invitations` (`organization_id`,`invited_by`,`status`,`role`,`email`,`created_at`,`id`);
--> statement-breakpoint
-- organization_invitation_counts (0002, 0003), as they were.
CREATE TRIGGER `invitations_count_after_insert` AFTER INSERT ON `invitations`
BEGIN
  INSERT INTO `organization_invitation_counts` (`organization_id`, `total`) VALUES (NEW.`organization_id`, 1)
    ON CONFLICT (`organization_id`) DO UPDATE SET `total` = `total` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `invitations_count_after_delete` AFTER DELETE ON `invitations`
BEGIN
  UPDATE `organization_invitation_counts` SET `total` = `total` - 1 WHERE `organization_id` = OLD.`organization_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `invitations_count_after_organization_change` AFTER UPDATE OF `organization_id` ON `invitations`
WHEN NEW.`organization_id` <> OLD.`organization_id`
BEGIN
  UPDATE `organization_invitation_counts` SET `total` = `total` - 1 WHERE `organization_id` = OLD.`organization_id`;
  INSERT INTO `organization_invitation_counts` (`organization_id`, `total`) VALUES (NEW.`organization_id`, 1)
    ON CONFLICT (`organization_id`) DO UPDATE SET `total` = `total` + 1;
END;
--> statement-breakpoint
-- invitation_counts and inviter_invitation_counts (0008), as they were: keyed by the status's text,
-- so DECLINED rows are counted like any other status.
CREATE TRIGGER `invitation_counts_after_insert` AFTER INSERT ON `invitations`
BEGIN
  INSERT INTO `invitation_counts` (`organization_id`, `status`, `role`, `total`)
    VALUES (NEW.`organization_id`, NEW.`status`, NEW.`role`, 1)
    ON CONFLICT (`organization_id`, `status`, `role`) DO UPDATE SET `total` = `total` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `invitation_counts_after_delete` AFTER DELETE ON `invitations`
BEGIN
  UPDATE `invitation_counts` SET `total` = `total` - 1
    WHERE `organization_id` = OLD.`organization_id` AND `status` = OLD.`status` AND `role` = OLD.`role`;
END;
--> statement-breakpoint
CREATE TRIGGER `invitation_counts_after_update` AFTER UPDATE OF `organization_id`, `status`, `role` ON `invitations`
WHEN NEW.`organization_id` IS NOT OLD.`organization_id` OR NEW.`status` IS NOT OLD.`status` OR NEW.`role` IS NOT OLD.`role`
BEGIN
  UPDATE `invitation_counts` SET `total` = `total` - 1
    WHERE `organization_id` = OLD.`organization_id` AND `status` = OLD.`status` AND `role` = OLD.`role`;
  INSERT INTO `invitation_counts` (`organization_id`, `status`, `role`, `total`)
    VALUES (NEW.`organization_id`, NEW.`status`, NEW.`role`, 1)
    ON CONFLICT (`organization_id`, `status`, `role`) DO UPDATE SET `total` = `total` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `inviter_invitation_counts_after_insert` AFTER INSERT ON `invitations`
BEGIN
  INSERT INTO `inviter_invitation_counts` (`organization_id`, `invited_by`, `status`, `role`, `total`)
    VALUES (NEW.`organization_id`, NEW.`invited_by`, NEW.`status`, NEW.`role`, 1)
    ON CONFLICT (`organization_id`, `invited_by`, `status`, `role`) DO UPDATE SET `total` = `total` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `inviter_invitation_counts_after_delete` AFTER DELETE ON `invitations`
BEGIN
  UPDATE `inviter_invitation_counts` SET `total` = `total` - 1
    WHERE `organization_id` = OLD.`organization_id` AND `invited_by` = OLD.`invited_by`
      AND `status` = OLD.`status` AND `role` = OLD.`role`;
END;
--> statement-breakpoint
CREATE TRIGGER `inviter_invitation_counts_after_update` AFTER UPDATE OF `organization_id`, `invited_by`, `status`, `role` ON `invitations`
WHEN NEW.`organization_id` IS NOT OLD.`organization_id` OR NEW.`invited_by` IS NOT OLD.`invited_by`
  OR NEW.`status` IS NOT OLD.`status` OR NEW.`role` IS NOT OLD.`role`
BEGIN
  UPDATE `inviter_invitation_counts` SET `total` = `total` - 1
    WHERE `organization_id` = OLD.`organization_id` AND `invited_by` = OLD.`invited_by`
      AND `status` = OLD.`status` AND `role` = OLD.`role`;
  INSERT INTO `inviter_invitation_counts` (`organization_id`, `invited_by`, `status`, `role`, `total`)
    VALUES (NEW.`organization_id`, NEW.`invited_by`, NEW.`status`, NEW.`role`, 1)
    ON CONFLICT (`organization_id`, `invited_by`, `status`, `role`) DO UPDATE SET `total` = `total` + 1;
END;
--> statement-breakpoint
-- The outbox (0005, 0007). One AFTER UPDATE trigger records, first match wins: a resend, a change of
-- status into ACCEPTED, REVOKED, EXPIRED or DECLINED, a change of metadata or redirect URL
-- (invitation.updated), and a delivery that failed for good. Each spells its snapshot out from NEW
-- (a shared view costs a row read per event), never with token_hash.
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
      'deliveryLastError', NEW.`delivery_last_error`, 'deliveryClaimedUntil', NEW.`delivery_claimed_until`,
      'declinedAt', NEW.`declined_at`, 'declinedBy', NEW.`declined_by`,
      'publicMetadata', json(NEW.`public_metadata`), 'privateMetadata', json(NEW.`private_metadata`),
      'redirectUrl', NEW.`redirect_url`));
END;
--> statement-breakpoint
CREATE TRIGGER `invitations_event_after_update` AFTER UPDATE ON `invitations`
WHEN NEW.`resend_count` > OLD.`resend_count`
  OR (NEW.`status` <> OLD.`status` AND NEW.`status` IN ('ACCEPTED', 'REVOKED', 'EXPIRED', 'DECLINED'))
  OR NEW.`public_metadata` IS NOT OLD.`public_metadata` OR NEW.`private_metadata` IS NOT OLD.`private_metadata`
  OR NEW.`redirect_url` IS NOT OLD.`redirect_url`
  OR (NEW.`delivery_status` = 'FAILED' AND OLD.`delivery_status` <> 'FAILED')
BEGIN
  INSERT INTO `invitation_events` (`id`, `type`, `organization_id`, `invitation_id`, `occurred_at`, `invitation`)
  VALUES (
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
    CASE
      WHEN NEW.`resend_count` > OLD.`resend_count` THEN 'invitation.resent'
      WHEN NEW.`status` <> OLD.`status` AND NEW.`status` IN ('ACCEPTED', 'REVOKED', 'EXPIRED', 'DECLINED') THEN 'invitation.' || lower(NEW.`status`)
      WHEN NEW.`public_metadata` IS NOT OLD.`public_metadata` OR NEW.`private_metadata` IS NOT OLD.`private_metadata`
        OR NEW.`redirect_url` IS NOT OLD.`redirect_url` THEN 'invitation.updated'
      ELSE 'invitation.delivery_failed'
    END,
    NEW.`organization_id`, NEW.`id`,
    CASE
      WHEN NEW.`delivery_status` = 'FAILED' AND OLD.`delivery_status` <> 'FAILED'
        AND NEW.`resend_count` = OLD.`resend_count` AND NEW.`status` = OLD.`status`
        AND NEW.`public_metadata` IS OLD.`public_metadata` AND NEW.`private_metadata` IS OLD.`private_metadata`
        AND NEW.`redirect_url` IS OLD.`redirect_url`
        THEN coalesce(NEW.`delivery_last_attempt_at`, NEW.`updated_at`)
      ELSE NEW.`updated_at`
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
      'deliveryLastError', NEW.`delivery_last_error`, 'deliveryClaimedUntil', NEW.`delivery_claimed_until`,
      'declinedAt', NEW.`declined_at`, 'declinedBy', NEW.`declined_by`,
      'publicMetadata', json(NEW.`public_metadata`), 'privateMetadata', json(NEW.`private_metadata`),
      'redirectUrl', NEW.`redirect_url`));
END;
