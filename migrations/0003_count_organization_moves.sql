-- An invitation moved to another organization (no code does this today, but SQL run by hand may)
-- counts for the new organization and no longer for the old one.
CREATE TRIGGER `invitations_count_after_organization_change` AFTER UPDATE OF `organization_id` ON `invitations`
WHEN NEW.`organization_id` <> OLD.`organization_id`
BEGIN
  UPDATE `organization_invitation_counts` SET `total` = `total` - 1 WHERE `organization_id` = OLD.`organization_id`;
  INSERT INTO `organization_invitation_counts` (`organization_id`, `total`) VALUES (NEW.`organization_id`, 1)
    ON CONFLICT (`organization_id`) DO UPDATE SET `total` = `total` + 1;
END;
