CREATE TABLE `organization_invitation_counts` (
	`organization_id` text PRIMARY KEY NOT NULL,
	`total` integer NOT NULL
);
