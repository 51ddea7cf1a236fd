CREATE TABLE `invitation_counts` (
	`organization_id` text NOT NULL,
	`status` text NOT NULL,
	`role` text NOT NULL,
	`total` integer NOT NULL,
	PRIMARY KEY(`organization_id`, `status`, `role`)
);
--> statement-breakpoint
CREATE TABLE `inviter_invitation_counts` (
	`organization_id` text NOT NULL,
	`invited_by` text NOT NULL,
	`status` text NOT NULL,
	`role` text NOT NULL,
	`total` integer NOT NULL,
	PRIMARY KEY(`organization_id`, `invited_by`, `status`, `role`)
);
--> statement-breakpoint
DROP INDEX `invitations_org_status_created_idx`;--> statement-breakpoint
DROP INDEX `invitations_org_role_created_idx`;--> statement-breakpoint
DROP INDEX `invitations_org_invited_by_created_idx`;--> statement-breakpoint
DROP INDEX `invitations_org_expires_idx`;--> statement-breakpoint
CREATE INDEX `invitations_org_status_role_created_idx` ON `invitations` (`organization_id`,`status`,`role`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_status_role_expires_idx` ON `invitations` (`organization_id`,`status`,`role`,`expires_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_status_role_email_idx` ON `invitations` (`organization_id`,`status`,`role`,`email`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_inviter_created_idx` ON `invitations` (`organization_id`,`invited_by`,`status`,`role`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_inviter_expires_idx` ON `invitations` (`organization_id`,`invited_by`,`status`,`role`,`expires_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_inviter_email_idx` ON `invitations` (`organization_id`,`invited_by`,`status`,`role`,`email`,`created_at`,`id`);--> statement-breakpoint
-- invitation_counts and inviter_invitation_counts are kept by the database, like
-- organization_invitation_counts: each trigger runs inside the statement that inserts, deletes or
-- changes an invitation, so no code path (nor SQL run by hand) can leave a count stale. An UPDATE
-- fires only when a counted column changes. Created together with the backfill, so no write
-- falls between the two.
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
INSERT INTO `invitation_counts` (`organization_id`, `status`, `role`, `total`)
SELECT `organization_id`, `status`, `role`, count(*) FROM `invitations` GROUP BY `organization_id`, `status`, `role`;
--> statement-breakpoint
INSERT INTO `inviter_invitation_counts` (`organization_id`, `invited_by`, `status`, `role`, `total`)
SELECT `organization_id`, `invited_by`, `status`, `role`, count(*) FROM `invitations`
GROUP BY `organization_id`, `invited_by`, `status`, `role`;
