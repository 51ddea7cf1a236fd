ALTER TABLE `invitations` ADD `accepted_by` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `revoked_at` integer;--> statement-breakpoint
ALTER TABLE `invitations` ADD `revoked_by` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `token_hash` text;--> statement-breakpoint
ALTER TABLE `invitations` ADD `resend_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `invitations` ADD `last_sent_at` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_token_hash_idx` ON `invitations` (`token_hash`);--> statement-breakpoint
CREATE INDEX `invitations_org_status_created_idx` ON `invitations` (`organization_id`,`status`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_email_created_idx` ON `invitations` (`organization_id`,`email`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_role_created_idx` ON `invitations` (`organization_id`,`role`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_invited_by_created_idx` ON `invitations` (`organization_id`,`invited_by`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invitations_org_expires_idx` ON `invitations` (`organization_id`,`expires_at`,`id`);