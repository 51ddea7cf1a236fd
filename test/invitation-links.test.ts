import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashInvitationToken } from "../src/invitations/invitation-token";
import {
  api,
  type Caller,
  caller,
  callerAt,
  createWithLink,
  expectError,
  fetchWith,
  type Invitation,
  inviteeToken,
  list,
  newOrgId,
  restoreAfterEach,
  runSweep,
  signToken,
  storedRows,
} from "./helpers";
import { asInvitee, preview } from "./invitee-views";

const INVITEE_EMAIL = "invitee@example.com";
const INVITEE_SUB = "user_invitee";
const UNKNOWN_TOKEN = "A".repeat(43);

restoreAfterEach();

/** An admin of a fresh organization, one invitation to `email`, and the secret of its link. */
async function invited(
  email = INVITEE_EMAIL,
): Promise<{ admin: Caller; token: string; invitation: Invitation }> {
  const admin = await caller();
  const { token, inviteUrl: _url, ...invitation } = await createWithLink(admin, email);
  return { admin, token, invitation };
}

function lookup(query: string, headers: Record<string, string> = {}) {
  return api(`/api/v1/invitations/lookup${query}`, { headers });
}

function accept(bearer: string | undefined, json: unknown) {
  return api("/api/v1/invitations/accept", { method: "POST", token: bearer, json });
}

/** A request body sent as is, for the bodies `json` in `api` cannot make. */
type RawBody = { body?: string; headers?: Record<string, string> };

function json(value: unknown): RawBody {
  return raw(JSON.stringify(value));
}

function raw(body: string): RawBody {
  return { body, headers: { "Content-Type": "application/json" } };
}

/** The invitation as an accept by the invitee at `now` returns it. */
function accepted(invitation: Invitation, now: number): Invitation {
  const at = new Date(now).toISOString();
  return { ...invitation, status: "ACCEPTED", acceptedAt: at, acceptedBy: INVITEE_SUB, updatedAt: at };
}

function revoke(admin: Caller, id: string) {
  return api(`/api/v1/invitations/${id}`, { method: "DELETE", token: admin.token });
}

/** Runs `refusal`, then checks the organization's stored rows are exactly as before it. */
async function changesNothing(org: string, refusal: () => Promise<void>) {
  const before = await storedRows(org);
  await refusal();
  expect(await storedRows(org)).toEqual(before);
}

describe("invitation links", () => {
  it("create returns a 43-character token and its inviteUrl; only the token's digest is stored", async () => {
    const admin = await caller();
    const first = await createWithLink(admin, "first@example.com");
    const second = await createWithLink(admin, "second@example.com");
    for (const { token, inviteUrl } of [first, second]) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(inviteUrl).toBe(`${env.INVITE_URL_BASE}?token=${token}`);
    }
    expect(first.token).not.toBe(second.token);

    const { results } = await env.DB.prepare(
      "SELECT * FROM invitations WHERE organization_id = ? ORDER BY email",
    )
      .bind(admin.org)
      .all();
    expect(results.map((row) => [row.id, row.token_hash])).toEqual([
      [first.id, await hashInvitationToken(first.token)],
      [second.id, await hashInvitationToken(second.token)],
    ]);
    const stored = JSON.stringify(results);
    expect(stored).not.toContain(first.token);
    expect(stored).not.toContain(second.token);
  });

  it("never shows the token or its digest in a list or a get", async () => {
    const { admin, token, invitation } = await invited();
    const hash = await hashInvitationToken(token);
    for (const path of ["/api/v1/invitations", `/api/v1/invitations/${invitation.id}`]) {
      const res = await api(path, { token: admin.token });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain(invitation.id);
      expect(text).not.toContain(token);
      expect(text).not.toContain(hash);
    }
  });

  /** Creates an invitation to the invitee through a Worker configured with INVITE_URL_BASE `base`. */
  function createWithBase(admin: Caller, base: string, publicUrl = env.PUBLIC_URL) {
    return fetchWith({ INVITE_URL_BASE: base, PUBLIC_URL: publicUrl }, "/api/v1/invitations", {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: INVITEE_EMAIL }),
    });
  }

  it("points inviteUrl at this Worker's own invitation page, at PUBLIC_URL, when INVITE_URL_BASE is not set", async () => {
    const res = await createWithBase(await caller(), "");
    expect(res.status).toBe(201);
    const { token, inviteUrl } = await res.json<{ token: string; inviteUrl: string }>();
    expect(env.PUBLIC_URL).toBe("https://invitations.example.com");
    expect(inviteUrl).toBe(`https://invitations.example.com/invite?token=${token}`);
    // The link's token is the invitation's: its preview opens.
    expect((await api(`/api/v1/invitations/lookup?token=${token}`)).status).toBe(200);
  });

  it("points inviteUrl at the request's own origin + /invite when neither INVITE_URL_BASE nor PUBLIC_URL is set", async () => {
    const res = await createWithBase(await caller(), "", "");
    expect(res.status).toBe(201);
    const { token, inviteUrl } = await res.json<{ token: string; inviteUrl: string }>();
    expect(inviteUrl).toBe(`http://localhost/invite?token=${token}`);
  });

  it("answers 500, storing nothing, when PUBLIC_URL is not an https origin (http only on localhost)", async () => {
    const admin = await caller();
    for (const publicUrl of [
      "https://invitations.example.com/app",
      "ftp://invitations.example.com",
      "http://invitations.example.com",
    ]) {
      const res = await createWithBase(admin, "", publicUrl);
      await expectError(res, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error", "Internal server error");
    }
    expect(await storedRows(admin.org)).toEqual([]);
  });

  it("keeps a query INVITE_URL_BASE already has, and adds the token to it", async () => {
    const res = await createWithBase(await caller(), "https://app.example.com/join?lang=en");
    expect(res.status).toBe(201);
    const { token, inviteUrl } = await res.json<{ token: string; inviteUrl: string }>();
    expect(inviteUrl).toBe(`https://app.example.com/join?lang=en&token=${token}`);
  });

  it("answers 500, storing nothing, when INVITE_URL_BASE is not https (http only on localhost)", async () => {
    const admin = await caller();
    for (const base of ["javascript:alert(1)", "http://app.example.com/invitations/accept"]) {
      const res = await createWithBase(admin, base);
      await expectError(res, 500, "INTERNAL_SERVER_ERROR", "Internal Server Error", "Internal server error");
    }
    expect(await storedRows(admin.org)).toEqual([]);
  });

  it("takes an http INVITE_URL_BASE on localhost, for local development", async () => {
    const res = await createWithBase(await caller(), "http://localhost:5173/accept");
    expect(res.status).toBe(201);
    const { token, inviteUrl } = await res.json<{ token: string; inviteUrl: string }>();
    expect(inviteUrl).toBe(`http://localhost:5173/accept?token=${token}`);
  });
});

describe("GET /api/v1/invitations/lookup", () => {
  it("previews the invitation without a bearer token, uncached, and changes nothing", async () => {
    const { admin, token, invitation } = await invited();
    await changesNothing(admin.org, async () => {
      const res = await lookup(`?token=${token}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(await res.json()).toEqual(preview(invitation));
    });
    // A mail scanner following the link does not use it up.
    expect((await accept(await inviteeToken(), { token })).status).toBe(200);
  });

  it("ignores an Authorization header, even a garbage one", async () => {
    const { token, invitation } = await invited();
    const res = await lookup(`?token=${token}`, { Authorization: "Bearer garbage" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(preview(invitation));
  });

  it("shows a revoked, an accepted and an expired (not yet swept) invitation with that status", async () => {
    const revoked = await invited();
    expect((await revoke(revoked.admin, revoked.invitation.id)).status).toBe(200);
    expect(await (await lookup(`?token=${revoked.token}`)).json()).toEqual(
      preview({ ...revoked.invitation, status: "REVOKED" }),
    );

    const accepted = await invited();
    expect((await accept(await inviteeToken(), { token: accepted.token })).status).toBe(200);
    expect(await (await lookup(`?token=${accepted.token}`)).json()).toEqual(
      preview({ ...accepted.invitation, status: "ACCEPTED" }),
    );

    const expired = await invited();
    await callerAt(Date.parse(expired.invitation.expiresAt), expired.admin);
    expect(await (await lookup(`?token=${expired.token}`)).json()).toEqual(
      preview({ ...expired.invitation, status: "EXPIRED" }),
    );
    expect((await storedRows(expired.admin.org))[0]?.status).toBe("PENDING");
  });

  it("returns 404 INVITATION_NOT_FOUND for a well-formed token no invitation has", async () => {
    const res = await lookup(`?token=${UNKNOWN_TOKEN}`);
    await expectError(res, 404, "INVITATION_NOT_FOUND", "Not Found", "Invitation not found");
  });

  describe("returns 400 VALIDATION_ERROR for a missing or malformed token", () => {
    const invalid = { token: ["Invalid invitation token"] };
    const cases: [string, string, Record<string, string[]>][] = [
      ["no token", "", { token: ["Invalid input: expected string, received undefined"] }],
      ["an empty token", "?token=", invalid],
      ["a token too short", `?token=${"A".repeat(42)}`, invalid],
      ["44 characters", `?token=${"A".repeat(44)}`, invalid],
      ["padding", `?token=${"A".repeat(42)}%3D`, invalid],
      ["a '+'", `?token=${"A".repeat(42)}%2B`, invalid],
      [
        "two tokens",
        `?token=${UNKNOWN_TOKEN}&token=${UNKNOWN_TOKEN}`,
        {
          token: ["Invalid input: expected string, received array"],
        },
      ],
    ];
    for (const [name, query, details] of cases) {
      it(`for ${name}`, async () => {
        const res = await lookup(query);
        await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", details);
      });
    }
  });
});

describe("POST /api/v1/invitations/accept", () => {
  it("accepts: 200 with the whole invitation, ACCEPTED in storage and in the admin's list", async () => {
    const { admin, token, invitation } = await invited();
    const before = await storedRows(admin.org);
    const now = Date.parse(invitation.createdAt) + 5_000;
    const lateAdmin = await callerAt(now, admin);

    const res = await accept(await inviteeToken(), { token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(asInvitee(accepted(invitation, now)));
    expect(await storedRows(admin.org)).toEqual([
      { ...before[0], status: "ACCEPTED", accepted_at: now, accepted_by: INVITEE_SUB, updated_at: now },
    ]);
    expect((await list(lateAdmin)).data).toEqual([accepted(invitation, now)]);
  });

  describe("accepts the same way", () => {
    const cases: [string, () => Promise<string>][] = [
      ["an email differing in case and surrounding space", () => inviteeToken("  Invitee@Example.COM ")],
      [
        "a token that also names another organization and role (ignored)",
        () =>
          signToken({
            sub: INVITEE_SUB,
            org: newOrgId(),
            role: "ORG_ADMIN",
            claims: { email: INVITEE_EMAIL },
          }),
      ],
      ["email_verified: true", () => inviteeToken(INVITEE_EMAIL, { email_verified: true })],
    ];
    for (const [name, bearer] of cases) {
      it(`for ${name}`, async () => {
        const { admin, token, invitation } = await invited("invitee@example.com");
        const now = Date.parse(invitation.createdAt) + 1_000;
        await callerAt(now, admin);
        const res = await accept(await bearer(), { token });
        expect({ status: res.status, body: await res.json() }).toEqual({
          status: 200,
          body: asInvitee(accepted(invitation, now)),
        });
        expect((await storedRows(admin.org))[0]).toMatchObject({
          status: "ACCEPTED",
          accepted_by: INVITEE_SUB,
        });
      });
    }

    it("one millisecond before expiry", async () => {
      const { admin, token, invitation } = await invited();
      const now = Date.parse(invitation.expiresAt) - 1;
      await callerAt(now, admin);
      const res = await accept(await inviteeToken(), { token });
      expect({ status: res.status, body: await res.json() }).toEqual({
        status: 200,
        body: asInvitee(accepted(invitation, now)),
      });
    });
  });

  describe("refuses, with the whole envelope, and changes nothing", () => {
    it("403 INVITATION_EMAIL_MISMATCH for another account", async () => {
      const { admin, token } = await invited();
      const bearer = await inviteeToken("someone.else@example.com");
      await changesNothing(admin.org, async () => {
        await expectError(
          await accept(bearer, { token }),
          403,
          "INVITATION_EMAIL_MISMATCH",
          "Forbidden",
          "This invitation was sent to a different email address",
        );
      });
    });

    it("403 EMAIL_NOT_VERIFIED for email_verified: false", async () => {
      const { admin, token } = await invited();
      const bearer = await inviteeToken(INVITEE_EMAIL, { email_verified: false });
      await changesNothing(admin.org, async () => {
        await expectError(
          await accept(bearer, { token }),
          403,
          "EMAIL_NOT_VERIFIED",
          "Forbidden",
          "Your email address is not verified",
        );
      });
    });

    for (const swept of [false, true]) {
      it(`410 INVITATION_EXPIRED at expiresAt, ${swept ? "after" : "before"} the sweep stores it`, async () => {
        const { admin, token, invitation } = await invited();
        await callerAt(Date.parse(invitation.expiresAt), admin);
        if (swept) await runSweep(Date.now());
        expect((await storedRows(admin.org))[0]?.status).toBe(swept ? "EXPIRED" : "PENDING");
        const bearer = await inviteeToken();
        await changesNothing(admin.org, async () => {
          await expectError(
            await accept(bearer, { token }),
            410,
            "INVITATION_EXPIRED",
            "Gone",
            "This invitation has expired",
          );
        });
      });
    }

    it("410 INVITATION_REVOKED for a revoked invitation", async () => {
      const { admin, token, invitation } = await invited();
      expect((await revoke(admin, invitation.id)).status).toBe(200);
      const bearer = await inviteeToken();
      await changesNothing(admin.org, async () => {
        await expectError(
          await accept(bearer, { token }),
          410,
          "INVITATION_REVOKED",
          "Gone",
          "This invitation has been revoked",
        );
      });
    });

    it("409 INVITATION_ALREADY_ACCEPTED for a second accept by the same user", async () => {
      const { admin, token } = await invited();
      const bearer = await inviteeToken();
      expect((await accept(bearer, { token })).status).toBe(200);
      await changesNothing(admin.org, async () => {
        await expectError(
          await accept(bearer, { token }),
          409,
          "INVITATION_ALREADY_ACCEPTED",
          "Conflict",
          "This invitation has already been accepted",
        );
      });
    });

    it("404 INVITATION_NOT_FOUND for a well-formed token no invitation has", async () => {
      const { admin } = await invited();
      const bearer = await inviteeToken();
      await changesNothing(admin.org, async () => {
        const res = await accept(bearer, { token: UNKNOWN_TOKEN });
        await expectError(res, 404, "INVITATION_NOT_FOUND", "Not Found", "Invitation not found");
      });
    });

    const invalidBodies: [string, (token: string) => RawBody, Record<string, string[]>][] = [
      ["a malformed token", () => json({ token: "A".repeat(44) }), { token: ["Invalid invitation token"] }],
      [
        "an unknown field",
        (token) => json({ token, email: INVITEE_EMAIL }),
        { body: ['Unrecognized key: "email"'] },
      ],
      ["no body", () => ({}), { token: ["Invalid input: expected string, received undefined"] }],
      [
        "malformed JSON",
        (token) => raw(`{"token": "${token}"`),
        { body: ["Malformed JSON in request body"] },
      ],
      [
        "a body that is not JSON",
        (token) => ({
          body: `token=${token}`,
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        }),
        { body: ["Content-Type must be application/json"] },
      ],
    ];
    for (const [name, init, details] of invalidBodies) {
      it(`400 VALIDATION_ERROR for ${name}`, async () => {
        const { admin, token } = await invited();
        const bearer = await inviteeToken();
        await changesNothing(admin.org, async () => {
          const res = await api("/api/v1/invitations/accept", {
            method: "POST",
            token: bearer,
            ...init(token),
          });
          await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", details);
        });
      });
    }

    const unauthorized: [string, () => Promise<string | undefined>][] = [
      ["no Authorization header", async () => undefined],
      ["a member token without an email claim", async () => (await caller()).token],
      [
        "a token signed with another secret",
        () =>
          signToken({
            sub: INVITEE_SUB,
            claims: { email: INVITEE_EMAIL },
            secret: "another-secret-0123456789",
          }),
      ],
    ];
    for (const [name, bearer] of unauthorized) {
      it(`401 UNAUTHORIZED for ${name}`, async () => {
        const { admin, token } = await invited();
        const authorization = await bearer();
        await changesNothing(admin.org, async () => {
          const res = await accept(authorization, { token });
          await expectError(res, 401, "UNAUTHORIZED", "Unauthorized", "Unauthorized");
        });
      });
    }
  });

  it("gives exactly one 200 and one 409 for two concurrent accepts, and accepts once", async () => {
    const { admin, token } = await invited();
    const bearer = await inviteeToken();
    const responses = await Promise.all([accept(bearer, { token }), accept(bearer, { token })]);
    expect(responses.map((res) => res.status).sort()).toEqual([200, 409]);
    const refused = responses.find((res) => res.status === 409);
    if (!refused) throw new Error("no 409");
    await expectError(
      refused,
      409,
      "INVITATION_ALREADY_ACCEPTED",
      "Conflict",
      "This invitation has already been accepted",
    );
    const rows = await storedRows(admin.org);
    expect(rows.map((row) => [row.status, row.accepted_by])).toEqual([["ACCEPTED", INVITEE_SUB]]);
  });

  it("after accept, the invitation cannot be revoked, and the email can be invited again", async () => {
    const { admin, token, invitation } = await invited();
    expect((await accept(await inviteeToken(), { token })).status).toBe(200);
    await changesNothing(admin.org, async () => {
      await expectError(
        await revoke(admin, invitation.id),
        400,
        "BAD_REQUEST",
        "Bad Request",
        "Invalid UUID or invitation cannot be revoked in its current state",
      );
    });
    const again = await createWithLink(admin, INVITEE_EMAIL);
    expect(again.status).toBe("PENDING");
    expect((await storedRows(admin.org)).map((row) => row.status).sort()).toEqual(["ACCEPTED", "PENDING"]);
  });
});
