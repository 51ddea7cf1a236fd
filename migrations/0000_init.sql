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
	CONSTRAINT "invitations_role_check" CHECK("invitations"."role" IN ('ORG_ADMIN', 'OPERATOR', 'VIEWER')),
	CONSTRAINT "invitations_status_check" CHECK("invitations"."status" IN ('PENDING', 'ACCEPTED', 'REVOKED', 'EXPIRED'))
);
--> statement-breakpoint
CREATE INDEX `invitations_org_created_idx` ON `invitations` (`organization_id`,`created_at`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_one_pending_per_email_idx` ON `invitations` (`organization_id`,`email`) WHERE "invitations"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX `invitations_status_expires_idx` ON `invitations` (`status`,`expires_at`);