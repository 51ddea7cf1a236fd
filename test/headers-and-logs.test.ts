import { describe, expect, it, vi } from "vitest";
import { api, caller, createWithLink, fetchWith, inviteeToken, restoreAfterEach, runSweep } from "./helpers";

restoreAfterEach();

const ADMIN_APP = "https://admin.example.com";
const OPEN = { CORS_ORIGINS: `${ADMIN_APP}, https://app.example.com` };

describe("CORS", () => {
  it("is closed by default: no Access-Control headers, and a preflight is a 404", async () => {
    const admin = await caller("ORG_ADMIN");
    const res = await api("/api/v1/invitations", { token: admin.token, headers: { Origin: ADMIN_APP } });
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
    const preflight = await api("/api/v1/invitations", {
      method: "OPTIONS",
      headers: { Origin: ADMIN_APP, "Access-Control-Request-Method": "POST" },
    });
    expect(preflight.status).toBe(404);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("opens to each configured origin: preflight allows the API's methods and headers", async () => {
    const preflight = await fetchWith(OPEN, "/api/v1/invitations", {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toBe("GET,POST,PATCH,DELETE");
    expect(preflight.headers.get("Access-Control-Allow-Headers")).toBe(
      "Authorization,Content-Type,X-D1-Bookmark,Idempotency-Key",
    );
    expect(preflight.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    expect(preflight.headers.get("Vary")).toContain("Origin");
  });

  it("lets a configured origin read responses, errors included, and the headers it needs", async () => {
    const admin = await caller("ORG_ADMIN");
    const ok = await fetchWith(OPEN, "/api/v1/invitations", {
      headers: { Origin: ADMIN_APP, Authorization: `Bearer ${admin.token}` },
    });
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(ADMIN_APP);
    expect(ok.headers.get("Access-Control-Expose-Headers")).toBe(
      "X-Request-Id,X-D1-Bookmark,Retry-After,Location,Idempotent-Replayed",
    );
    const unauthorized = await fetchWith(OPEN, "/api/v1/invitations", { headers: { Origin: ADMIN_APP } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("Access-Control-Allow-Origin")).toBe(ADMIN_APP);
  });

  it("gives any other origin nothing to read, even when CORS is configured", async () => {
    const admin = await caller("ORG_ADMIN");
    for (const origin of ["https://evil.example.com", "https://admin.example.com.evil.example", "null"]) {
      const res = await fetchWith(OPEN, "/api/v1/invitations", {
        headers: { Origin: origin, Authorization: `Bearer ${admin.token}` },
      });
      expect(res.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
      const preflight = await fetchWith(OPEN, "/api/v1/invitations", {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "DELETE" },
      });
      expect(preflight.headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
    }
  });

  it("refuses a CORS_ORIGINS entry that is not an origin (a misconfiguration is a logged 500)", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await fetchWith({ CORS_ORIGINS: "https://admin.example.com/path" }, "/api/v1/invitations");
    expect(res.status).toBe(500);
    expect(JSON.parse(String(errors.mock.calls[0]?.[0]))).toMatchObject({
      level: "error",
      requestId: res.headers.get("X-Request-Id"),
    });
  });
});

describe("headers on every response", () => {
  it("carries a request id and the security headers, on success, errors and unknown routes alike", async () => {
    const admin = await caller("ORG_ADMIN");
    const responses = [
      await api("/api/v1/invitations", { token: admin.token }),
      await api("/api/v1/invitations"),
      await api("/api/v1/nothing-here"),
      await api("/openapi.json"),
    ];
    const ids = responses.map((res) => res.headers.get("X-Request-Id"));
    for (const res of responses) {
      expect(res.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("X-Frame-Options")).toBe("SAMEORIGIN");
      expect(res.headers.get("Strict-Transport-Security")).toMatch(/max-age=\d+/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("logs", () => {
  it("writes one JSON object per line, each with the request id, for every change of state; never an email or a token", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((line: unknown) => {
        lines.push(String(line));
      });
    }
    const admin = await caller("ORG_ADMIN");
    const email = `audited-${crypto.randomUUID()}@example.com`;
    const created = await api("/api/v1/invitations", { method: "POST", token: admin.token, json: { email } });
    const invitation = (await created.json()) as { id: string; token: string };
    const resent = await fetchWith(
      { RESEND_COOLDOWN_SECONDS: "0" },
      `/api/v1/invitations/${invitation.id}/resend`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${admin.token}` },
      },
    );
    const link = ((await resent.json()) as { token: string }).token;
    const invitee = await inviteeToken(email, { sub: "user_joiner" });
    const accepted = await api("/api/v1/invitations/accept", {
      method: "POST",
      token: invitee,
      json: { token: link },
    });
    const other = await createWithLink(admin, `other-${crypto.randomUUID()}@example.com`);
    const revoked = await api(`/api/v1/invitations/${other.id}`, { method: "DELETE", token: admin.token });
    await runSweep(Date.now());

    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const byMessage = (message: string) => parsed.filter((line) => line.message === message);
    expect(byMessage("Invitation created")).toContainEqual({
      level: "info",
      message: "Invitation created",
      requestId: created.headers.get("X-Request-Id"),
      invitationId: invitation.id,
      organizationId: admin.org,
      actor: admin.sub,
      role: "VIEWER",
    });
    expect(byMessage("Invitation resent")).toEqual([
      expect.objectContaining({
        requestId: resent.headers.get("X-Request-Id"),
        invitationId: invitation.id,
        resendCount: 1,
      }),
    ]);
    expect(byMessage("Invitation accepted")).toEqual([
      expect.objectContaining({
        requestId: accepted.headers.get("X-Request-Id"),
        invitationId: invitation.id,
        actor: "user_joiner",
      }),
    ]);
    expect(byMessage("Invitation revoked")).toEqual([
      expect.objectContaining({
        requestId: revoked.headers.get("X-Request-Id"),
        invitationId: other.id,
        actor: admin.sub,
      }),
    ]);
    expect(byMessage("Expired invitations swept")).toHaveLength(1);

    // Every line carries an id: a request's, or the cron run's own.
    for (const line of parsed) expect(line.requestId, JSON.stringify(line)).toMatch(/^[0-9a-f-]{36}$/);
    expect(byMessage("Expired invitations swept")[0]).toMatchObject({ cron: "*/15 * * * *" });
    const all = lines.join("\n");
    for (const secret of [email, other.email, invitation.token, link, other.token, admin.token, invitee]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toContain("@");
  });
});
