import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/**
 * Migration 0009 rebuilt `invitations` (SQLite cannot change a CHECK in place), which drops every
 * index and trigger on it: each one of migrations 0000..0008 must be back, and the inbox's index.
 */
describe("the invitations table after its rebuild", () => {
  it("has every index and trigger of the migrations before it, and the inbox's index", async () => {
    const { results } = await env.DB.prepare(
      "SELECT type, name FROM sqlite_master WHERE tbl_name = 'invitations' AND type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_autoindex%' ORDER BY type, name",
    ).all<{ type: string; name: string }>();
    expect(results.map(({ type, name }) => `${type} ${name}`)).toEqual([
      "index invitations_email_status_created_idx",
      "index invitations_one_pending_per_email_idx",
      "index invitations_org_created_idx",
      "index invitations_org_email_created_idx",
      "index invitations_org_inviter_created_idx",
      "index invitations_org_inviter_email_idx",
      "index invitations_org_inviter_expires_idx",
      "index invitations_org_status_role_created_idx",
      "index invitations_org_status_role_email_idx",
      "index invitations_org_status_role_expires_idx",
      "index invitations_status_expires_idx",
      "index invitations_token_hash_idx",
      "trigger invitation_counts_after_delete",
      "trigger invitation_counts_after_insert",
      "trigger invitation_counts_after_update",
      "trigger invitations_count_after_delete",
      "trigger invitations_count_after_insert",
      "trigger invitations_count_after_organization_change",
      "trigger invitations_event_after_insert",
      "trigger invitations_event_after_update",
      "trigger inviter_invitation_counts_after_delete",
      "trigger inviter_invitation_counts_after_insert",
      "trigger inviter_invitation_counts_after_update",
    ]);
  });

  it("stores DECLINED and refuses a status outside the list", async () => {
    const insert = (status: string) =>
      env.DB.prepare(
        "INSERT INTO invitations (id, organization_id, email, role, status, invited_by, created_at, updated_at, expires_at) VALUES (?, ?, 'x@example.com', 'VIEWER', ?, 'u', 1, 1, 2)",
      )
        .bind(crypto.randomUUID(), crypto.randomUUID(), status)
        .run();
    await expect(insert("DECLINED")).resolves.toMatchObject({ success: true });
    await expect(insert("REJECTED")).rejects.toThrow(/CHECK constraint failed/);
  });
});
