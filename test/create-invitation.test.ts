import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashInvitationToken } from "../src/invitations/invitation-token";
import {
  api,
  caller,
  createInvitation,
  expectError,
  fetchWith,
  freshDelivery,
  list,
  storedRows,
} from "./helpers";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1000;

function post(token: string, json: unknown) {
  return api("/api/v1/invitations", { method: "POST", token, json });
}

describe("POST /api/v1/invitations", () => {
  it("returns 201 with the whole invitation and its link, a Location header, and stores it", async () => {
    const admin = await caller("ORG_ADMIN");
    const before = Date.now();
    const res = await post(admin.token, { email: "new.person@example.com", role: "OPERATOR" });
    const after = Date.now();

    expect(res.status).toBe(201);
    const body = await res.json<Record<string, unknown>>();
    expect(res.headers.get("Location")).toBe(`/api/v1/invitations/${body.id}`);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const token = String(body.token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body).toEqual({
      id: expect.stringMatching(UUID_V4),
      organizationId: admin.org,
      email: "new.person@example.com",
      role: "OPERATOR",
      status: "PENDING",
      invitedBy: admin.sub,
      createdAt: body.createdAt,
      updatedAt: body.createdAt,
      expiresAt: new Date(Date.parse(String(body.createdAt)) + SEVEN_DAYS_MS).toISOString(),
      acceptedAt: null,
      acceptedBy: null,
      revokedAt: null,
      revokedBy: null,
      declinedAt: null,
      declinedBy: null,
      resendCount: 0,
      lastSentAt: body.createdAt,
      delivery: freshDelivery("QUEUED"),
      publicMetadata: {},
      privateMetadata: {},
      redirectUrl: null,
      token,
      inviteUrl: `https://app.example.com/invitations/accept?token=${token}`,
    });
    expect(env.INVITE_URL_BASE).toBe("https://app.example.com/invitations/accept");
    const createdAt = Date.parse(String(body.createdAt));
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(createdAt).toBeLessThanOrEqual(after);
    expect(body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    expect(await storedRows(admin.org)).toEqual([
      {
        id: body.id,
        email: "new.person@example.com",
        role: "OPERATOR",
        status: "PENDING",
        invited_by: admin.sub,
        created_at: createdAt,
        updated_at: createdAt,
        expires_at: createdAt + SEVEN_DAYS_MS,
        accepted_at: null,
        accepted_by: null,
        revoked_at: null,
        revoked_by: null,
        // Only the digest of the link's secret is stored.
        token_hash: await hashInvitationToken(token),
        resend_count: 0,
        last_sent_at: createdAt,
      },
    ]);
    const { token: _token, inviteUrl: _url, ...invitation } = body;
    expect((await list(admin)).data).toEqual([invitation]);
  });

  it("defaults the role to VIEWER", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "viewer@example.com");
    expect(invitation.role).toBe("VIEWER");
  });

  it("trims and lower-cases the email before storing it", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "  O'Brien+Team@Example.COM \t");
    expect(invitation.email).toBe("o'brien+team@example.com");
    expect((await storedRows(admin.org)).map((row) => row.email)).toEqual(["o'brien+team@example.com"]);
  });

  it("accepts an email of exactly 254 characters", async () => {
    const admin = await caller();
    const email = `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`;
    expect(email).toHaveLength(254);
    expect((await createInvitation(admin, email)).email).toBe(email);
  });

  it("accepts an RFC 5322 address with characters a stricter check would refuse", async () => {
    const admin = await caller();
    const invitation = await createInvitation(admin, "a!b#c@sub.example.org");
    expect(invitation.email).toBe("a!b#c@sub.example.org");
  });

  it("returns 409 CONFLICT when a pending invitation exists for the same email, in any case", async () => {
    const admin = await caller();
    const first = await createInvitation(admin, "dup@example.com", "VIEWER");

    const res = await post(admin.token, { email: "  DUP@Example.com ", role: "OPERATOR" });
    await expectError(res, 409, "CONFLICT", "Conflict", "A pending invitation already exists for this email");

    expect((await storedRows(admin.org)).map((row) => [row.id, row.role])).toEqual([[first.id, "VIEWER"]]);
  });

  it("allows a new invitation once the pending one is revoked", async () => {
    const admin = await caller();
    const first = await createInvitation(admin, "again@example.com");
    const revoke = await api(`/api/v1/invitations/${first.id}`, { method: "DELETE", token: admin.token });
    expect(revoke.status).toBe(200);
    const second = await createInvitation(admin, "again@example.com");
    expect(second.id).not.toBe(first.id);
    expect((await storedRows(admin.org)).map((row) => row.status).sort()).toEqual(["PENDING", "REVOKED"]);
  });

  it("gives exactly one 201 and one 409 for concurrent creates of the same email", async () => {
    const admin = await caller();
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post(admin.token, { email: i % 2 ? "RACE@example.com" : "race@example.com" }),
      ),
    );
    const statuses = responses.map((res) => res.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    for (const res of responses.filter((r) => r.status === 409)) {
      expect(await res.json()).toMatchObject({ code: "CONFLICT", statusCode: 409 });
    }
    expect(await storedRows(admin.org)).toHaveLength(1);
  });

  it("takes organizationId and invitedBy from the token, never from the body", async () => {
    const admin = await caller();
    const res = await post(admin.token, {
      email: "sneaky@example.com",
      organizationId: crypto.randomUUID(),
      invitedBy: "someone-else",
      status: "ACCEPTED",
    });
    await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", {
      body: ['Unrecognized keys: "organizationId", "invitedBy", "status"'],
    });
    expect(await storedRows(admin.org)).toEqual([]);
  });

  describe("returns 400 VALIDATION_ERROR naming each failing field, and stores nothing", () => {
    const cases: [string, unknown, Record<string, string[]>][] = [
      [
        "a missing email",
        { role: "VIEWER" },
        { email: ["Invalid input: expected string, received undefined"] },
      ],
      ["an invalid email", { email: "not-an-email" }, { email: ["Invalid email address"] }],
      ["an email without a domain dot", { email: "a@localhost" }, { email: ["Invalid email address"] }],
      ["a blank email", { email: "   " }, { email: ["Invalid email address"] }],
      [
        "an email with a control character",
        { email: "a\u0000b@example.com" },
        { email: ["Invalid email address"] },
      ],
      ["a quoted local part", { email: '"a b"@example.com' }, { email: ["Invalid email address"] }],
      ["a non-ASCII address", { email: "ü@example.com" }, { email: ["Invalid email address"] }],
      ["an IP-literal domain", { email: "a@[192.0.2.1]" }, { email: ["Invalid email address"] }],
      ["consecutive dots", { email: "a..b@example.com" }, { email: ["Invalid email address"] }],
      [
        "a local part over 64 characters",
        { email: `${"a".repeat(65)}@example.com` },
        { email: ["Invalid email address"] },
      ],
      ["a non-string email", { email: 42 }, { email: ["Invalid input: expected string, received number"] }],
      [
        "an email over 254 characters",
        { email: `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(58)}.com` },
        { email: ["Too big: expected string to have <=254 characters"] },
      ],
      [
        "an unknown role",
        { email: "x@example.com", role: "admin" },
        { role: ['Invalid option: expected one of "ORG_ADMIN"|"OPERATOR"|"VIEWER"'] },
      ],
      [
        "a lower-case role",
        { email: "x@example.com", role: "viewer" },
        { role: ['Invalid option: expected one of "ORG_ADMIN"|"OPERATOR"|"VIEWER"'] },
      ],
      [
        "both fields wrong",
        { email: "nope", role: 7 },
        {
          email: ["Invalid email address"],
          role: ['Invalid option: expected one of "ORG_ADMIN"|"OPERATOR"|"VIEWER"'],
        },
      ],
      [
        "an array body",
        [{ email: "x@example.com" }],
        { body: ["Invalid input: expected object, received array"] },
      ],
      [
        "expiresInDays 0",
        { email: "x@example.com", expiresInDays: 0 },
        { expiresInDays: ["Too small: expected number to be >=1"] },
      ],
      [
        "expiresInDays 31",
        { email: "x@example.com", expiresInDays: 31 },
        { expiresInDays: ["Too big: expected number to be <=30"] },
      ],
      [
        "a fractional expiresInDays",
        { email: "x@example.com", expiresInDays: 1.5 },
        { expiresInDays: ["Invalid input: expected int, received number"] },
      ],
      [
        "expiresInDays as a string",
        { email: "x@example.com", expiresInDays: "7" },
        { expiresInDays: ["Invalid input: expected number, received string"] },
      ],
      ["a null body", null, { body: ["Invalid input: expected object, received null"] }],
      ["a string body", "x@example.com", { body: ["Invalid input: expected object, received string"] }],
    ];
    for (const [name, json, details] of cases) {
      it(`for ${name}`, async () => {
        const admin = await caller();
        const res = await post(admin.token, json);
        await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", details);
        expect(await storedRows(admin.org)).toEqual([]);
      });
    }
  });

  it("returns 400 VALIDATION_ERROR for malformed JSON", async () => {
    const admin = await caller();
    const res = await api("/api/v1/invitations", {
      method: "POST",
      token: admin.token,
      headers: { "Content-Type": "application/json" },
      body: '{"email": "x@example.com",',
    });
    await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", {
      body: ["Malformed JSON in request body"],
    });
    expect(await storedRows(admin.org)).toEqual([]);
  });

  it("returns 400 VALIDATION_ERROR for a POST with no body and no Content-Type (not read as {})", async () => {
    const admin = await caller();
    const res = await api("/api/v1/invitations", { method: "POST", token: admin.token });
    await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", {
      email: ["Invalid input: expected string, received undefined"],
    });
  });

  describe("returns 400 VALIDATION_ERROR for a body that is not application/json, whatever it holds", () => {
    const json = JSON.stringify({ email: "x@example.com" });
    const cases: [string, Record<string, string>, BodyInit][] = [
      ["text/plain", { "Content-Type": "text/plain" }, json],
      ["a form", { "Content-Type": "application/x-www-form-urlencoded" }, "email=x%40example.com"],
      ["multipart", { "Content-Type": "multipart/form-data; boundary=x" }, json],
      // Bytes carry no Content-Type of their own, unlike a string body (text/plain).
      ["no Content-Type at all", {}, new TextEncoder().encode(json)],
    ];
    for (const [name, headers, body] of cases) {
      it(`for ${name}`, async () => {
        const admin = await caller();
        const res = await api("/api/v1/invitations", { method: "POST", token: admin.token, headers, body });
        await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", {
          body: ["Content-Type must be application/json"],
        });
        expect(await storedRows(admin.org)).toEqual([]);
      });
    }
  });

  it("accepts application/json with a charset", async () => {
    const admin = await caller();
    const res = await api("/api/v1/invitations", {
      method: "POST",
      token: admin.token,
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify({ email: "charset@example.com" }),
    });
    expect(res.status).toBe(201);
  });

  it("sets expiresAt expiresInDays after createdAt when given, from 1 to 30 days", async () => {
    const admin = await caller();
    for (const days of [1, 30]) {
      const res = await post(admin.token, { email: `days${days}@example.com`, expiresInDays: days });
      expect(res.status).toBe(201);
      const body = await res.json<{ createdAt: string; expiresAt: string }>();
      expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBe(days * 86_400_000);
    }
    const stored = await storedRows(admin.org);
    expect(stored.map((row) => row.expires_at - row.created_at)).toEqual([86_400_000, 30 * 86_400_000]);
  });

  it("sets expiresAt from INVITATION_TTL_SECONDS", async () => {
    const admin = await caller();
    const res = await fetchWith({ INVITATION_TTL_SECONDS: "60" }, "/api/v1/invitations", {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: "short-lived@example.com" }),
    });
    expect(res.status).toBe(201);
    const body = await res.json<{ createdAt: string; expiresAt: string }>();
    expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBe(60_000);
  });

  it("returns 413 PAYLOAD_TOO_LARGE for a body over 16 KiB, and stores nothing", async () => {
    const admin = await caller();
    const res = await post(admin.token, { email: "big@example.com", padding: "x".repeat(17 * 1024) });
    await expectError(res, 413, "PAYLOAD_TOO_LARGE", "Payload Too Large", "Payload too large");
    expect(await storedRows(admin.org)).toEqual([]);
  });
});
