-- The database keeps organization_invitation_counts itself: these triggers run inside the very
-- statement that inserts or deletes an invitation, so no code path can leave a count stale.
-- Created together with the backfill in one migration, so no insert falls between the two.
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
INSERT INTO `organization_invitation_counts` (`organization_id`, `total`)
SELECT `organization_id`, count(*) FROM `invitations` GROUP BY `organization_id`;
