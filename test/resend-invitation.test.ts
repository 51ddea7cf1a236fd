import { describe, expect, it, vi } from "vitest";
import { hashInvitationToken } from "../src/invitations/invitation-token";
import {
  acceptAs,
  api,
  type Caller,
  caller,
  callerAt,
  createWithLink,
  expectError,
  fetchWith,
  freezeClock,
  type Invitation,
  type InvitationWithLink,
  list,
  restoreAfterEach,
  runSweep,
  storedRows,
} from "./helpers";

const DAY = 24 * 60 * 60 * 1000;
const COOLDOWN = 60_000;

restoreAfterEach();

function resend(token: string | undefined, id: string) {
  return api(`/api/v1/invitations/${id}/resend`, { method: "POST", token });
}

function lookup(token: string) {
  return api(`/api/v1/invitations/lookup?token=${token}`);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The invitation as a get or a list shows it: without its link. */
function withoutLink({ token: _token, inviteUrl: _url, ...invitation }: InvitationWithLink): Invitation {
  return invitation;
}

/**
 * Freezes the clock and creates an invitation: returns it with its link, when it was created,
 * and a way to move the clock that hands back an admin of the organization whose token is valid then.
 */
async function setUp(email: string, body: { expiresInDays?: number } = {}) {
  freezeClock();
  const admin = await caller();
  const created = await createWithLink(admin, email, body);
  const createdAt = Date.parse(created.createdAt);
  const at = (ms: number): Promise<Caller> => callerAt(ms, admin);
  return { admin, created, createdAt, at };
}

async function expectResent(res: Response): Promise<InvitationWithLink> {
  expect(res.status).toBe(200);
  return res.json();
}

/** The error a refused resend answers with: status, code, reason phrase, message, details. */
type Refusal = readonly [number, string, string, string, Record<string, string[]>?];

/** A refused resend: the whole error envelope, and the organization's rows exactly as before. */
async function expectRefused(who: Caller, id: string, refusal: Refusal, org = who.org) {
  const before = await storedRows(org);
  await expectError(await resend(who.token, id), ...refusal);
  expect(await storedRows(org)).toEqual(before);
}

const NOT_FOUND: Refusal = [404, "INVITATION_NOT_FOUND", "Not Found", "Invitation not found"];
const notResendable = (status: string): Refusal => [
  409,
  "INVITATION_NOT_RESENDABLE",
  "Conflict",
  `Only a pending or expired invitation can be resent; this one is ${status}`,
];

describe("POST /api/v1/invitations/{id}/resend", () => {
  it("after the cooldown: 200 with the invitation and a new link, not cached, and stores the new link", async () => {
    const { admin, created, createdAt, at } = await setUp("resend-me@example.com");
    const [rowBefore] = await storedRows(admin.org);
    const now = createdAt + COOLDOWN + 1_000;
    const later = await at(now);

    const res = await resend(later.token, created.id);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = await expectResent(res);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.token).not.toBe(created.token);
    expect(body).toEqual({
      ...withoutLink(created),
      status: "PENDING",
      updatedAt: iso(now),
      expiresAt: iso(now + 7 * DAY),
      resendCount: 1,
      lastSentAt: iso(now),
      token: body.token,
      inviteUrl: `https://app.example.com/invitations/accept?token=${body.token}`,
    } satisfies InvitationWithLink);

    expect(await storedRows(admin.org)).toEqual([
      {
        ...rowBefore,
        updated_at: now,
        expires_at: now + 7 * DAY,
        token_hash: await hashInvitationToken(body.token),
        resend_count: 1,
        last_sent_at: now,
      },
    ]);
    const get = await api(`/api/v1/invitations/${created.id}`, { token: later.token });
    expect(await get.json()).toEqual(withoutLink(body));
  });

  it("replaces the link: the old token is 404 on lookup, the new one shows the invitation", async () => {
    const { created, createdAt, at } = await setUp("new-link@example.com");
    const later = await at(createdAt + COOLDOWN + 1_000);
    const resent = await expectResent(await resend(later.token, created.id));

    await expectError(await lookup(created.token), ...NOT_FOUND);
    const res = await lookup(resent.token);
    expect(res.status).toBe(200);
    const { id, organizationId, email, role, status, invitedBy, createdAt: created_, expiresAt } = resent;
    expect(await res.json()).toEqual({
      id,
      organizationId,
      email,
      role,
      status,
      invitedBy,
      createdAt: created_,
      expiresAt,
      publicMetadata: {},
      redirectUrl: null,
    });
  });

  it("returns 429 RATE_LIMITED within the cooldown after create, with Retry-After, and changes nothing", async () => {
    const { admin, created, createdAt, at } = await setUp("too-soon@example.com");
    const soon = await at(createdAt + 15_000);

    const before = await storedRows(admin.org);
    const res = await resend(soon.token, created.id);
    expect(res.headers.get("Retry-After")).toBe("45");
    await expectError(
      res,
      429,
      "RATE_LIMITED",
      "Too Many Requests",
      "This invitation was sent recently; it can be resent in 45 seconds",
    );
    expect(await storedRows(admin.org)).toEqual(before);
    expect((await lookup(created.token)).status).toBe(200);
  });

  it("rounds the seconds left up, and resends at exactly the end of the cooldown", async () => {
    const { created, createdAt, at } = await setUp("boundary@example.com");

    const almost = await at(createdAt + COOLDOWN - 1);
    const res = await resend(almost.token, created.id);
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe("1");

    const exactly = await at(createdAt + COOLDOWN);
    expect((await expectResent(await resend(exactly.token, created.id))).resendCount).toBe(1);
  });

  it("counts the cooldown from the latest resend, and counts every resend", async () => {
    const { created, createdAt, at } = await setUp("twice@example.com");
    const first = createdAt + COOLDOWN + 1_000;
    await expectResent(await resend((await at(first)).token, created.id));

    const soon = await at(first + 30_000);
    const res = await resend(soon.token, created.id);
    expect(res.headers.get("Retry-After")).toBe("30");
    expect(res.status).toBe(429);

    const second = first + COOLDOWN + 1_000;
    const body = await expectResent(await resend((await at(second)).token, created.id));
    expect(body).toMatchObject({ resendCount: 2, lastSentAt: iso(second), expiresAt: iso(second + 7 * DAY) });
  });

  it("gives the invitation its own lifetime again: created for 2 days, resent for 2 days", async () => {
    const { created, createdAt, at } = await setUp("two-days@example.com", { expiresInDays: 2 });
    expect(Date.parse(created.expiresAt) - createdAt).toBe(2 * DAY);
    const now = createdAt + COOLDOWN + 1_000;

    const body = await expectResent(await resend((await at(now)).token, created.id));
    expect(body.expiresAt).toBe(iso(now + 2 * DAY));
  });

  it("resends a past-due PENDING invitation the sweep has not reached: PENDING with a fresh expiry", async () => {
    const { admin, created, at } = await setUp("late@example.com");
    const now = Date.parse(created.expiresAt) + DAY;
    const later = await at(now);
    expect((await list(later)).data.map((invitation) => invitation.status)).toEqual(["EXPIRED"]);

    const body = await expectResent(await resend(later.token, created.id));
    expect(body).toMatchObject({ status: "PENDING", expiresAt: iso(now + 7 * DAY), resendCount: 1 });
    expect((await list(later)).data).toEqual([withoutLink(body)]);
    expect((await storedRows(admin.org)).map((row) => row.status)).toEqual(["PENDING"]);
  });

  it("resends an invitation the sweep has stored as EXPIRED: PENDING with a fresh expiry", async () => {
    const { admin, created, at } = await setUp("swept@example.com");
    vi.spyOn(console, "log").mockImplementation(() => {});
    await runSweep(Date.parse(created.expiresAt));
    expect((await storedRows(admin.org)).map((row) => row.status)).toEqual(["EXPIRED"]);
    const now = Date.parse(created.expiresAt) + DAY;
    const later = await at(now);

    const body = await expectResent(await resend(later.token, created.id));
    expect(body).toMatchObject({ status: "PENDING", expiresAt: iso(now + 7 * DAY), updatedAt: iso(now) });
    expect((await list(later)).data).toEqual([withoutLink(body)]);
    expect((await storedRows(admin.org)).map((row) => row.status)).toEqual(["PENDING"]);
  });

  it("resends an EXPIRED invitation while a later one to the same email is past due, and expires that one", async () => {
    const { admin, created, createdAt, at } = await setUp("replaced@example.com");
    const secondAt = createdAt + 8 * DAY;
    const second = await createWithLink(await at(secondAt), "replaced@example.com");
    const now = secondAt + 8 * DAY;
    const later = await at(now);

    const body = await expectResent(await resend(later.token, created.id));
    expect(body.status).toBe("PENDING");
    expect((await storedRows(admin.org)).map((row) => [row.id, row.status, row.updated_at])).toEqual([
      [created.id, "PENDING", now],
      [second.id, "EXPIRED", now],
    ]);
  });

  it("returns 409 INVITATION_NOT_RESENDABLE for a revoked invitation, and changes nothing", async () => {
    const { admin, created, createdAt, at } = await setUp("revoked@example.com");
    const revoke = await api(`/api/v1/invitations/${created.id}`, { method: "DELETE", token: admin.token });
    expect(revoke.status).toBe(200);
    const later = await at(createdAt + COOLDOWN + 1_000);

    await expectRefused(later, created.id, notResendable("REVOKED"));
  });

  it("returns 409 INVITATION_NOT_RESENDABLE for an accepted invitation, and changes nothing", async () => {
    const { created, createdAt, at } = await setUp("accepted@example.com");
    await acceptAs("accepted@example.com", created.token);
    const later = await at(createdAt + COOLDOWN + 1_000);

    await expectRefused(later, created.id, notResendable("ACCEPTED"));
  });

  it("returns 409 CONFLICT for an expired invitation whose email has a new pending one, and changes nothing", async () => {
    const { created, at } = await setUp("taken@example.com");
    const later = await at(Date.parse(created.expiresAt) + DAY);
    const fresh = await createWithLink(later, "taken@example.com");

    await expectRefused(later, created.id, [
      409,
      "CONFLICT",
      "Conflict",
      "A pending invitation already exists for this email",
    ]);
    expect((await lookup(fresh.token)).status).toBe(200);
  });

  it("returns 404 INVITATION_NOT_FOUND for another organization's invitation, as for an unknown id", async () => {
    const { admin, created, createdAt, at } = await setUp("theirs@example.com");
    await at(createdAt + COOLDOWN + 1_000);
    const other = await caller();

    await expectRefused(other, created.id, NOT_FOUND, admin.org);
    await expectRefused(other, crypto.randomUUID(), NOT_FOUND, admin.org);
  });

  it("accepts the id in upper case", async () => {
    const { created, createdAt, at } = await setUp("upper@example.com");
    const later = await at(createdAt + COOLDOWN + 1_000);
    const body = await expectResent(await resend(later.token, created.id.toUpperCase()));
    expect(body.id).toBe(created.id);
  });

  describe("returns 400 VALIDATION_ERROR naming the id when it is not a UUID", () => {
    for (const id of ["abc", "497f6eca62764993bfeb53cbbbba6f08"]) {
      it(`for "${id}"`, async () => {
        const admin = await caller();
        await expectRefused(admin, id, [
          400,
          "VALIDATION_ERROR",
          "Bad Request",
          "Validation error",
          { id: ["Invalid UUID"] },
        ]);
      });
    }
  });

  it("returns 403 FORBIDDEN to an OPERATOR and a VIEWER, and changes nothing", async () => {
    const { admin, created, createdAt, at } = await setUp("forbidden@example.com");
    await at(createdAt + COOLDOWN + 1_000);
    for (const role of ["OPERATOR", "VIEWER"] as const) {
      const who = await caller(role, admin.org);
      await expectRefused(who, created.id, [403, "FORBIDDEN", "Forbidden", "Forbidden"]);
    }
  });

  it("returns 401 UNAUTHORIZED without a bearer token, and changes nothing", async () => {
    const { admin, created, createdAt, at } = await setUp("anonymous@example.com");
    await at(createdAt + COOLDOWN + 1_000);
    const before = await storedRows(admin.org);
    await expectError(
      await resend(undefined, created.id),
      401,
      "UNAUTHORIZED",
      "Unauthorized",
      "Unauthorized",
    );
    expect(await storedRows(admin.org)).toEqual(before);
  });

  it("resends at once when RESEND_COOLDOWN_SECONDS is 0", async () => {
    const { admin, created } = await setUp("no-cooldown@example.com");
    // At the instant of create, the default cooldown refuses...
    expect((await resend(admin.token, created.id)).status).toBe(429);

    // ...and a Worker configured without one resends.
    const res = await fetchWith(
      { RESEND_COOLDOWN_SECONDS: "0" },
      `/api/v1/invitations/${created.id}/resend`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${admin.token}` },
      },
    );
    const body = await expectResent(res);
    expect(body).toMatchObject({ status: "PENDING", resendCount: 1, lastSentAt: created.createdAt });
    expect(body.token).not.toBe(created.token);
  });

  it("keeps the 60 s default when RESEND_COOLDOWN_SECONDS is set but empty (empty is not 0)", async () => {
    const { admin, created } = await setUp("empty-cooldown@example.com");
    const res = await fetchWith({ RESEND_COOLDOWN_SECONDS: "" }, `/api/v1/invitations/${created.id}/resend`, {
      method: "POST",
      headers: { Authorization: `Bearer ${admin.token}` },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe("60");
  });

  it("gives exactly one 200 and one 429 for two concurrent resends", async () => {
    const { admin, created, createdAt, at } = await setUp("race@example.com");
    const later = await at(createdAt + COOLDOWN + 1_000);

    const responses = await Promise.all([resend(later.token, created.id), resend(later.token, created.id)]);
    expect(responses.map((res) => res.status).sort()).toEqual([200, 429]);
    const limited = responses.find((res) => res.status === 429);
    expect(limited?.headers.get("Retry-After")).toBe("60");
    const [row] = await storedRows(admin.org);
    expect(row?.resend_count).toBe(1);
    const winner = await responses.find((res) => res.status === 200)?.json<InvitationWithLink>();
    expect(row?.token_hash).toBe(await hashInvitationToken(String(winner?.token)));
  });
});
