import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, caller, databaseSnapshot, expectError, fetchWith } from "./helpers";

/**
 * An invitation's redirectUrl: only to an origin REDIRECT_ORIGINS allows (the tests allow
 * https://app.example.com and http://localhost:3000), stored, returned to the admin and on the
 * preview; the emailed link stays inviteUrl.
 */

const create = (token: string, json: object) => api("/api/v1/invitations", { method: "POST", token, json });

describe("redirectUrl", () => {
  it("is stored and returned on admin reads and the preview; inviteUrl is unchanged", async () => {
    const admin = await caller();
    const redirectUrl = "https://app.example.com/welcome?plan=pro";
    const res = await create(admin.token, { email: "r@example.com", redirectUrl });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; token: string; inviteUrl: string };
    expect(created).toMatchObject({ redirectUrl });
    expect(created.inviteUrl).toBe(`${env.INVITE_URL_BASE}?token=${created.token}`);
    const get = await api(`/api/v1/invitations/${created.id}`, { token: admin.token });
    expect(await get.json()).toMatchObject({ redirectUrl });
    const preview = await api(`/api/v1/invitations/lookup?token=${created.token}`);
    expect(await preview.json()).toMatchObject({ redirectUrl });
    const row = await env.DB.prepare("SELECT redirect_url FROM invitations WHERE id = ?")
      .bind(created.id)
      .first();
    expect(row).toEqual({ redirect_url: redirectUrl });
  });

  it("allows plain http for localhost only", async () => {
    const admin = await caller();
    const res = await create(admin.token, { email: "l@example.com", redirectUrl: "http://localhost:3000/x" });
    expect(res.status).toBe(201);
  });

  const refused: [string, string, string][] = [
    ["another origin", "https://evil.example.net/", "This origin is not an allowed redirect origin"],
    [
      "an allowed host on another port",
      "https://app.example.com:8443/",
      "This origin is not an allowed redirect origin",
    ],
    ["http to an allowed https host", "http://app.example.com/", "Must be https (http only for localhost)"],
    ["credentials", "https://user:pw@app.example.com/", "Must not carry a user name or password"],
    ["a relative URL", "/welcome", "Must be an absolute http(s) URL"],
    ["javascript:", "javascript:alert(1)", "Must be an absolute http(s) URL"],
  ];
  for (const [name, redirectUrl, message] of refused) {
    it(`refuses ${name} with 400 VALIDATION_ERROR, storing nothing`, async () => {
      const admin = await caller();
      const before = await databaseSnapshot();
      await expectError(
        await create(admin.token, { email: "x@example.com", redirectUrl }),
        400,
        "VALIDATION_ERROR",
        "Bad Request",
        "Validation error",
        { redirectUrl: [message] },
      );
      expect(await databaseSnapshot()).toEqual(before);
    });
  }

  it("refuses any redirectUrl when REDIRECT_ORIGINS is empty", async () => {
    const admin = await caller();
    const res = await fetchWith({ REDIRECT_ORIGINS: "" }, "/api/v1/invitations", {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: "e@example.com", redirectUrl: "https://app.example.com/" }),
    });
    await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", {
      redirectUrl: ["No redirect origin is allowed on this service"],
    });
  });

  it("is checked per bulk item, and changed or cleared by PATCH while pending", async () => {
    const admin = await caller();
    const res = await api("/api/v1/invitations/bulk", {
      method: "POST",
      token: admin.token,
      json: {
        invitations: [
          { email: "b1@example.com", redirectUrl: "https://app.example.com/a" },
          { email: "b2@example.com", redirectUrl: "https://evil.example.net/" },
        ],
      },
    });
    const { results } = (await res.json()) as {
      results: { outcome: string; invitation?: { id: string; redirectUrl: string }; error?: object }[];
    };
    expect(results.map((r) => r.outcome)).toEqual(["created", "invalid"]);
    expect(results[0]?.invitation?.redirectUrl).toBe("https://app.example.com/a");
    expect(results[1]?.error).toMatchObject({
      code: "VALIDATION_ERROR",
      details: { redirectUrl: ["This origin is not an allowed redirect origin"] },
    });
    const id = results[0]?.invitation?.id;
    const patch = (json: object) =>
      api(`/api/v1/invitations/${id}`, { method: "PATCH", token: admin.token, json });
    await expectError(
      await patch({ redirectUrl: "https://evil.example.net/" }),
      400,
      "VALIDATION_ERROR",
      "Bad Request",
      "Validation error",
      { redirectUrl: ["This origin is not an allowed redirect origin"] },
    );
    expect(await (await patch({ redirectUrl: "https://app.example.com/b" })).json()).toMatchObject({
      redirectUrl: "https://app.example.com/b",
    });
    expect(await (await patch({ redirectUrl: null })).json()).toMatchObject({ redirectUrl: null });
  });
});

describe("REDIRECT_ORIGINS", () => {
  it("is validated with the rest of the configuration: an http origin other than localhost fails it", async () => {
    const res = await fetchWith({ REDIRECT_ORIGINS: "http://app.example.com" }, "/api/v1/invitations", {
      headers: { Authorization: `Bearer ${(await caller()).token}` },
    });
    expect(res.status).toBe(500);
  });
});
