import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { counters } from "./counters";
import {
  api,
  caller,
  callerAt,
  createWithLink,
  DAY,
  databaseSnapshot,
  expectError,
  freezeClock,
  inviteeToken,
  list,
  restoreAfterEach,
  runSweep,
  storedEvents,
  storedRows,
} from "./helpers";

/**
 * Declining by link: the invitee says no with the link's token (no bearer token, as the hosted
 * page's form sends it). DECLINED is final, frees the address, publishes invitation.declined, and
 * of racing answers, revokes and the expiry exactly one wins.
 */

restoreAfterEach();

const EMAIL = "invitee@example.com";

const decline = (json: unknown, headers: Record<string, string> = {}) =>
  api("/api/v1/invitations/decline", { method: "POST", json, headers });

const accept = async (token: string) =>
  api("/api/v1/invitations/accept", { method: "POST", token: await inviteeToken(EMAIL), json: { token } });

describe("POST /api/v1/invitations/decline", () => {
  it("declines: 200 with the preview, DECLINED stored, counted and published, the address free again", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, EMAIL, { role: "OPERATOR" });
    const now = freezeClock(Date.parse(created.createdAt) + 5_000);

    const res = await decline({ token: created.token });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(await res.json()).toEqual({
      id: created.id,
      organizationId: admin.org,
      email: EMAIL,
      role: "OPERATOR",
      status: "DECLINED",
      invitedBy: admin.sub,
      createdAt: created.createdAt,
      expiresAt: created.expiresAt,
      publicMetadata: {},
      redirectUrl: null,
    });
    const [row] = await storedRows(admin.org);
    expect(row).toMatchObject({ status: "DECLINED", updated_at: now });
    const stored = await env.DB.prepare("SELECT declined_at, declined_by FROM invitations WHERE id = ?")
      .bind(created.id)
      .first();
    expect(stored).toEqual({ declined_at: now, declined_by: null });

    const events = await storedEvents(admin.org);
    expect(events.map((event) => event.type)).toEqual(["invitation.created", "invitation.declined"]);
    expect(events[1]?.invitation).toMatchObject({ status: "DECLINED", declinedAt: now, declinedBy: null });

    const { kept, counted } = await counters(admin.org);
    expect(kept).toEqual({ "DECLINED OPERATOR": 1, [`${admin.sub} DECLINED OPERATOR`]: 1 });
    expect(kept).toEqual(counted);

    const late = await callerAt(now, admin);
    expect((await list(late, "?status=DECLINED")).data.map((i) => [i.id, i.status, i.declinedAt])).toEqual([
      [created.id, "DECLINED", new Date(now).toISOString()],
    ]);
    expect((await list(late, "?status=PENDING")).meta.total).toBe(0);
    // The one-pending-per-address index no longer holds the address.
    const again = await createWithLink(late, EMAIL);
    expect(again.status).toBe("PENDING");
  });

  it("cannot be accepted, declined again, resent or revoked afterwards; the preview shows DECLINED", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, EMAIL);
    expect((await decline({ token: created.token })).status).toBe(200);
    const before = await databaseSnapshot();
    const gone = ["Gone", "This invitation has been declined"] as const;

    await expectError(await accept(created.token), 410, "INVITATION_DECLINED", ...gone);
    await expectError(await decline({ token: created.token }), 410, "INVITATION_DECLINED", ...gone);
    freezeClock(Date.now() + 120_000);
    const late = await caller(admin.role, admin.org, admin.sub);
    const resend = await api(`/api/v1/invitations/${created.id}/resend`, {
      method: "POST",
      token: late.token,
    });
    await expectError(
      resend,
      409,
      "INVITATION_NOT_RESENDABLE",
      "Conflict",
      "Only a pending or expired invitation can be resent; this one is DECLINED",
    );
    const revoke = await api(`/api/v1/invitations/${created.id}`, { method: "DELETE", token: late.token });
    expect(revoke.status).toBe(400);
    expect(await databaseSnapshot()).toEqual(before);

    const preview = await api(`/api/v1/invitations/lookup?token=${created.token}`);
    expect(((await preview.json()) as { status: string }).status).toBe("DECLINED");
  });

  it("refuses an accepted, revoked or expired invitation with the code of its state, changing nothing", async () => {
    const admin = await caller();
    const accepted = await createWithLink(admin, "a@example.com");
    const revoked = await createWithLink(admin, "r@example.com");
    const expiring = await createWithLink(admin, "e@example.com", { expiresInDays: 1 });
    const res = await api("/api/v1/invitations/accept", {
      method: "POST",
      token: await inviteeToken("a@example.com"),
      json: { token: accepted.token },
    });
    expect(res.status).toBe(200);
    expect(
      (await api(`/api/v1/invitations/${revoked.id}`, { method: "DELETE", token: admin.token })).status,
    ).toBe(200);
    const before = await databaseSnapshot();

    await expectError(
      await decline({ token: accepted.token }),
      409,
      "INVITATION_ALREADY_ACCEPTED",
      "Conflict",
      "This invitation has already been accepted",
    );
    await expectError(
      await decline({ token: revoked.token }),
      410,
      "INVITATION_REVOKED",
      "Gone",
      "This invitation has been revoked",
    );
    // Due but not yet swept: expired all the same, at the very millisecond.
    freezeClock(Date.parse(expiring.expiresAt));
    await expectError(
      await decline({ token: expiring.token }),
      410,
      "INVITATION_EXPIRED",
      "Gone",
      "This invitation has expired",
    );
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("is 404 for a token no invitation has, and 400 for bad input, changing nothing", async () => {
    const before = await databaseSnapshot();
    await expectError(
      await decline({ token: "A".repeat(43) }),
      404,
      "INVITATION_NOT_FOUND",
      "Not Found",
      "Invitation not found",
    );
    const bad: [unknown, Record<string, string[]>][] = [
      [{}, { token: ["Invalid input: expected string, received undefined"] }],
      [{ token: "short" }, { token: ["Invalid invitation token"] }],
      [{ token: "A".repeat(43), reason: "no" }, { body: ['Unrecognized key: "reason"'] }],
    ];
    for (const [json, details] of bad) {
      await expectError(
        await decline(json),
        400,
        "VALIDATION_ERROR",
        "Bad Request",
        "Validation error",
        details,
      );
    }
    expect(await databaseSnapshot()).toEqual(before);
  });

  it("the sweep leaves a declined invitation as it is", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, EMAIL, { expiresInDays: 1 });
    expect((await decline({ token: created.token })).status).toBe(200);
    await runSweep(Date.parse(created.expiresAt) + DAY);
    expect((await storedRows(admin.org)).map((row) => row.status)).toEqual(["DECLINED"]);
    expect((await storedEvents(admin.org)).map((event) => event.type)).toEqual([
      "invitation.created",
      "invitation.declined",
    ]);
  });
});

describe("racing answers end with exactly one winner", () => {
  it("accept, decline, decline and revoke at once: one 200, the state it stored, one status event", async () => {
    const admin = await caller();
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      const email = `race-${round}@example.com`;
      const created = await createWithLink(admin, email);
      const invitee = await inviteeToken(email);
      const contenders: [string, () => Promise<Response>][] = [
        [
          "ACCEPTED",
          () =>
            api("/api/v1/invitations/accept", {
              method: "POST",
              token: invitee,
              json: { token: created.token },
            }),
        ],
        ["DECLINED", () => decline({ token: created.token })],
        ["DECLINED", () => decline({ token: created.token })],
        ["REVOKED", () => api(`/api/v1/invitations/${created.id}`, { method: "DELETE", token: admin.token })],
      ];
      // Each round sends them in another order.
      const order = [...contenders.slice(round % 4), ...contenders.slice(0, round % 4)];
      const responses = await Promise.all(order.map(([, send]) => send()));
      const statuses = responses.map((res) => res.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      const winner = order[statuses.indexOf(200)]?.[0];
      const row = await env.DB.prepare("SELECT status FROM invitations WHERE id = ?")
        .bind(created.id)
        .first();
      expect(row).toEqual({ status: winner });
      const losses = await Promise.all(
        responses.map(async (res, i) =>
          res.status === 200 ? [] : [[order[i]?.[0], ((await res.json()) as { code: string }).code]],
        ),
      );
      const expected = {
        ACCEPTED: "INVITATION_ALREADY_ACCEPTED",
        DECLINED: "INVITATION_DECLINED",
        REVOKED: "INVITATION_REVOKED",
      }[winner as "ACCEPTED" | "DECLINED" | "REVOKED"];
      // Each loser's own code: the revoke's loss is its own contract's 400 BAD_REQUEST, an accept's
      // or a decline's the code of the state that won.
      for (const [kind, code] of losses.flat())
        expect(code).toBe(kind === "REVOKED" ? "BAD_REQUEST" : expected);
    }
    const events = await storedEvents(admin.org);
    expect(events.filter((event) => event.type !== "invitation.created")).toHaveLength(rounds);
    const { kept, counted } = await counters(admin.org);
    expect(kept).toEqual(counted);
  });
});
