import { beforeEach, describe, expect, it } from "vitest";
import type { Role } from "../src/db/schema";
import {
  acceptAs,
  api,
  type Caller,
  caller,
  createdInvitation,
  createdRow,
  createWithLink,
  DAY,
  expectError,
  freezeClock,
  type Invitation,
  type InvitationWithLink,
  iso,
  list,
  MINUTE,
  newOrgId,
  resentInvitation,
  resentRows,
  restoreAfterEach,
  type StoredRow,
  signToken,
  storedRows,
} from "./helpers";
import { asInvitee, preview } from "./invitee-views";

const ROLES = ["ORG_ADMIN", "OPERATOR", "VIEWER"] as const satisfies readonly Role[];

/** The frozen "now" of the running test: every request and token is made at a known instant. */
let now: number;

beforeEach(() => {
  now = freezeClock();
});

restoreAfterEach();

function withoutLink({ token: _token, inviteUrl: _url, ...invitation }: InvitationWithLink): Invitation {
  return invitation;
}

/** A member token that also carries a verified email, as some identity providers issue. */
function memberWithEmail(who: Caller, email: string) {
  return signToken({ role: who.role, org: who.org, sub: who.sub, claims: { email, email_verified: true } });
}

const forbidden = [403, "FORBIDDEN", "Forbidden", "Forbidden"] as const;
const notFound = [404, "INVITATION_NOT_FOUND", "Not Found", "Invitation not found"] as const;

const SEEDER = "user_seeder";
const INVITED = "matrix@example.com";

/**
 * A fresh organization whose admin (`user_seeder`, not the caller under test) sent one OPERATOR
 * invitation two minutes ago: past the resend cooldown, so only the role decides a resend.
 */
async function seeded() {
  freezeClock(now - 2 * MINUTE);
  const admin = await caller("ORG_ADMIN", newOrgId(), SEEDER);
  const link = await createWithLink(admin, INVITED, { role: "OPERATOR" });
  freezeClock(now);
  return { org: admin.org, link, invitation: withoutLink(link) };
}

type Fixture = Awaited<ReturnType<typeof seeded>>;

type Operation = {
  /** What the caller tries, as the test name says it. */
  name: string;
  allowed: readonly Role[];
  request: (who: Caller, fixture: Fixture) => Promise<Response>;
  /** What an allowed caller gets back, and what it leaves in storage (`before`: the rows it found). */
  granted: (res: Response, who: Caller, fixture: Fixture, before: StoredRow[]) => Promise<void>;
};

const operations: Operation[] = [
  {
    name: "list invitations (GET /invitations)",
    allowed: ["ORG_ADMIN", "OPERATOR"],
    request: (who) => api("/api/v1/invitations", { token: who.token }),
    granted: async (res, _who, { org, invitation }, before) => {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        data: [invitation],
        meta: { limit: 20, page: 1, total: 1, totalPages: 1, nextCursor: null },
      });
      expect(await storedRows(org)).toEqual(before);
    },
  },
  {
    name: "create an invitation (POST /invitations)",
    allowed: ["ORG_ADMIN"],
    request: (who) =>
      api("/api/v1/invitations", { method: "POST", token: who.token, json: { email: "new@example.com" } }),
    granted: async (res, who, { org }, before) => {
      expect(res.status).toBe(201);
      const created = await res.json<InvitationWithLink>();
      // The organization and the inviter come from the caller's token.
      expect(created).toEqual(
        createdInvitation(
          now,
          { organizationId: org, email: "new@example.com", role: "VIEWER", invitedBy: who.sub },
          expect.any(String),
        ),
      );
      expect(await storedRows(org)).toEqual([...before, await createdRow(now, created)]);
    },
  },
  {
    name: "get an invitation (GET /invitations/{id})",
    allowed: ["ORG_ADMIN", "OPERATOR"],
    request: (who, { invitation }) => api(`/api/v1/invitations/${invitation.id}`, { token: who.token }),
    granted: async (res, _who, { org, invitation }, before) => {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(invitation);
      expect(await storedRows(org)).toEqual(before);
    },
  },
  {
    name: "revoke an invitation (DELETE /invitations/{id})",
    allowed: ["ORG_ADMIN"],
    request: (who, { invitation }) =>
      api(`/api/v1/invitations/${invitation.id}`, { method: "DELETE", token: who.token }),
    granted: async (res, who, { org }, before) => {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ message: "Invitation revoked" });
      expect(await storedRows(org)).toEqual(
        before.map((row) => ({
          ...row,
          status: "REVOKED",
          revoked_at: now,
          revoked_by: who.sub,
          updated_at: now,
        })),
      );
    },
  },
  {
    name: "resend an invitation (POST /invitations/{id}/resend)",
    allowed: ["ORG_ADMIN"],
    request: (who, { invitation }) =>
      api(`/api/v1/invitations/${invitation.id}/resend`, { method: "POST", token: who.token }),
    granted: async (res, _who, { org, link, invitation }, before) => {
      expect(res.status).toBe(200);
      const resent = await res.json<InvitationWithLink>();
      expect(resent).toEqual(resentInvitation(now, invitation, expect.any(String)));
      expect(resent.token).not.toBe(link.token);
      expect(await storedRows(org)).toEqual(await resentRows(now, before, resent));
    },
  },
  {
    name: "look up an invitation by its link (GET /invitations/lookup): it needs no bearer token, and the member's is ignored",
    allowed: ROLES,
    request: (who, { link }) => api(`/api/v1/invitations/lookup?token=${link.token}`, { token: who.token }),
    granted: async (res, _who, { org, invitation }, before) => {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(preview(invitation));
      expect(await storedRows(org)).toEqual(before);
    },
  },
  {
    name: "accept an invitation sent to its own verified email (POST /invitations/accept): not role-gated, the token's `email` decides",
    allowed: ROLES,
    request: async (who, { link }) =>
      api("/api/v1/invitations/accept", {
        method: "POST",
        token: await memberWithEmail(who, INVITED),
        json: { token: link.token },
      }),
    granted: async (res, who, { org, invitation }, before) => {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        ...asInvitee(invitation),
        status: "ACCEPTED",
        acceptedAt: iso(now),
        acceptedBy: who.sub,
        updatedAt: iso(now),
      });
      expect(await storedRows(org)).toEqual(
        before.map((row) => ({
          ...row,
          status: "ACCEPTED",
          accepted_at: now,
          accepted_by: who.sub,
          updated_at: now,
        })),
      );
    },
  },
];

describe("authorization: the role matrix", () => {
  for (const operation of operations) {
    for (const role of ROLES) {
      const may = operation.allowed.includes(role);
      const name = may
        ? `${role} may ${operation.name}`
        : `${role} may not ${operation.name}: 403 FORBIDDEN, and nothing stored changes`;
      it(name, async () => {
        const fixture = await seeded();
        const who = await caller(role, fixture.org);
        const before = await storedRows(fixture.org);
        const res = await operation.request(who, fixture);
        if (may) {
          await operation.granted(res, who, fixture, before);
        } else {
          await expectError(res, ...forbidden);
          expect(await storedRows(fixture.org)).toEqual(before);
        }
      });
    }
  }

  it("anyone holding the link may look it up with no bearer token at all", async () => {
    const { org, link, invitation } = await seeded();
    const before = await storedRows(org);
    const res = await api(`/api/v1/invitations/lookup?token=${link.token}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(preview(invitation));
    expect(await storedRows(org)).toEqual(before);
  });

  it("the invitee's own token (sub and email, no organization or role) may accept", async () => {
    const { link, invitation } = await seeded();
    expect(await acceptAs(INVITED, link.token)).toEqual({
      ...asInvitee(invitation),
      status: "ACCEPTED",
      acceptedAt: iso(now),
      acceptedBy: "user_invitee",
      updatedAt: iso(now),
    });
  });

  for (const role of ROLES) {
    it(`a ${role} token without an email claim may not accept: 401 UNAUTHORIZED whatever the role, nothing changes`, async () => {
      const { org, link } = await seeded();
      const who = await caller(role, org);
      const before = await storedRows(org);
      const res = await api("/api/v1/invitations/accept", {
        method: "POST",
        token: who.token,
        json: { token: link.token },
      });
      expect(res.headers.get("WWW-Authenticate")).toBe(
        'Bearer error="invalid_token", error_description="Token is missing required claims"',
      );
      await expectError(res, 401, "UNAUTHORIZED", "Unauthorized", "Unauthorized");
      expect(await storedRows(org)).toEqual(before);
    });
  }

  // A denied role learns nothing about what valid input looks like: the role is checked first.
  const invalidInputs: [string, readonly Role[], (token: string) => Promise<Response>][] = [
    [
      "create with an invalid body",
      ["OPERATOR", "VIEWER"],
      (token) =>
        api("/api/v1/invitations", { method: "POST", token, json: { email: "bad", status: "ACCEPTED" } }),
    ],
    [
      "revoke of a non-UUID id",
      ["OPERATOR", "VIEWER"],
      (token) => api("/api/v1/invitations/nope", { method: "DELETE", token }),
    ],
    [
      "resend of a non-UUID id",
      ["OPERATOR", "VIEWER"],
      (token) => api("/api/v1/invitations/nope/resend", { method: "POST", token }),
    ],
    ["get of a non-UUID id", ["VIEWER"], (token) => api("/api/v1/invitations/nope", { token })],
    ["list with an invalid page", ["VIEWER"], (token) => api("/api/v1/invitations?page=0", { token })],
  ];
  for (const [input, roles, request] of invalidInputs) {
    for (const role of roles) {
      it(`${role} gets 403 FORBIDDEN, not 400, for ${input}`, async () => {
        const { org } = await seeded();
        const before = await storedRows(org);
        await expectError(await request((await caller(role, org)).token), ...forbidden);
        expect(await storedRows(org)).toEqual(before);
      });
    }
  }
});

/** What a client can observe of a response, save the request id and the bookmark's position. */
async function observed(res: Response) {
  const body = await res.text();
  const varies = new Set(["x-request-id", "x-d1-bookmark"]);
  return {
    status: res.status,
    headers: Object.fromEntries(
      [...res.headers].map(([name, value]) => [name, varies.has(name) ? "*" : value]),
    ),
    body,
    bytes: new TextEncoder().encode(body).byteLength,
  };
}

describe("object level: organization A's members and organization B's invitations", () => {
  /** B's invitation in each state; returns the id as the caller will send it. */
  const theirInvitations: [string, (b: Caller) => Promise<string>][] = [
    [
      "pending invitation sent just now (inside the resend cooldown)",
      async (b) => (await createWithLink(b, "pending@example.com")).id,
    ],
    [
      "pending invitation past its expiry, not yet swept",
      async (b) => {
        freezeClock(now - 2 * DAY);
        const then = await caller("ORG_ADMIN", b.org, b.sub);
        const { id } = await createWithLink(then, "due@example.com", { expiresInDays: 1 });
        freezeClock(now);
        return id;
      },
    ],
    [
      "accepted invitation",
      async (b) => {
        const { id, token } = await createWithLink(b, "accepted@example.com");
        await acceptAs("accepted@example.com", token);
        return id;
      },
    ],
    [
      "revoked invitation",
      async (b) => {
        const { id } = await createWithLink(b, "revoked@example.com");
        expect((await api(`/api/v1/invitations/${id}`, { method: "DELETE", token: b.token })).status).toBe(
          200,
        );
        return id;
      },
    ],
    [
      "pending invitation, its id upper-cased",
      async (b) => (await createWithLink(b, "upper@example.com")).id.toUpperCase(),
    ],
  ];

  const byId: [string, readonly Role[], (who: Caller, id: string) => Promise<Response>][] = [
    ["get", ["ORG_ADMIN", "OPERATOR"], (who, id) => api(`/api/v1/invitations/${id}`, { token: who.token })],
    [
      "revoke",
      ["ORG_ADMIN"],
      (who, id) => api(`/api/v1/invitations/${id}`, { method: "DELETE", token: who.token }),
    ],
    [
      "resend",
      ["ORG_ADMIN"],
      (who, id) => api(`/api/v1/invitations/${id}/resend`, { method: "POST", token: who.token }),
    ],
  ];

  for (const [operation, allowed, request] of byId) {
    for (const role of ROLES) {
      const expected = allowed.includes(role) ? notFound : forbidden;
      for (const [state, make] of theirInvitations) {
        it(`${operation} by A's ${role} of B's ${state}: ${expected[0]} ${expected[1]}, the very response an id that does not exist gets; B's rows unchanged`, async () => {
          const a = await caller(role);
          await createWithLink(await caller("ORG_ADMIN", a.org, "user_a_admin"), "mine@example.com");
          const b = await caller("ORG_ADMIN", newOrgId(), "user_b_admin");
          const id = await make(b);
          const missing = id === id.toLowerCase() ? crypto.randomUUID() : crypto.randomUUID().toUpperCase();
          const [beforeA, beforeB] = [await storedRows(a.org), await storedRows(b.org)];

          const theirs = await observed(await request(a, id));
          const absent = await observed(await request(a, missing));

          const [status, code, error, message] = expected;
          expect(theirs.headers["content-type"]).toMatch(/^application\/json/);
          expect({ status: theirs.status, body: JSON.parse(theirs.body) }).toEqual({
            status,
            body: { code, details: {}, error, message, statusCode: status },
          });
          // Same status, headers (Content-Length included when sent), body and byte length.
          expect(theirs).toEqual(absent);
          expect(await storedRows(b.org)).toEqual(beforeB);
          expect(await storedRows(a.org)).toEqual(beforeA);
        });
      }
    }
  }

  // Lookup and accept find an invitation by its link, in any organization: the link is the
  // credential, and the caller's organization neither widens nor narrows what it opens.
  for (const role of ROLES) {
    it(`accept of B's link by A's ${role} whose token carries another verified email: 403 INVITATION_EMAIL_MISMATCH, B's rows unchanged`, async () => {
      const a = await caller(role);
      const b = await caller("ORG_ADMIN", newOrgId(), "user_b_admin");
      const { token } = await createWithLink(b, "b-invitee@example.com");
      const before = await storedRows(b.org);
      const res = await api("/api/v1/invitations/accept", {
        method: "POST",
        token: await memberWithEmail(a, "a-member@example.com"),
        json: { token },
      });
      await expectError(
        res,
        403,
        "INVITATION_EMAIL_MISMATCH",
        "Forbidden",
        "This invitation was sent to a different email address",
      );
      expect(await storedRows(b.org)).toEqual(before);
      expect(await storedRows(a.org)).toEqual([]);
    });

    it(`accept of B's link by A's ${role} whose token carries the invited email: 200, and the invitation stays B's (the token's org_id is not written)`, async () => {
      const a = await caller(role);
      const b = await caller("ORG_ADMIN", newOrgId(), "user_b_admin");
      const link = await createWithLink(b, "both@example.com");
      const [before] = await storedRows(b.org);
      const res = await api("/api/v1/invitations/accept", {
        method: "POST",
        token: await memberWithEmail(a, "both@example.com"),
        json: { token: link.token },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        ...asInvitee(withoutLink(link)),
        organizationId: b.org,
        status: "ACCEPTED",
        acceptedAt: iso(now),
        acceptedBy: a.sub,
        updatedAt: iso(now),
      });
      expect(await storedRows(b.org)).toEqual([
        { ...before, status: "ACCEPTED", accepted_at: now, accepted_by: a.sub, updated_at: now },
      ]);
      expect(await storedRows(a.org)).toEqual([]);
    });

    it(`lookup of B's link with A's ${role} token: B's preview, the same as with no token`, async () => {
      const a = await caller(role);
      const b = await caller("ORG_ADMIN", newOrgId(), "user_b_admin");
      const link = await createWithLink(b, "previewed@example.com");
      const withToken = await api(`/api/v1/invitations/lookup?token=${link.token}`, { token: a.token });
      const without = await api(`/api/v1/invitations/lookup?token=${link.token}`);
      expect(withToken.status).toBe(200);
      const body = await withToken.json();
      expect(body).toEqual(preview(withoutLink(link)));
      expect(body).toEqual(await without.json());
    });
  }

  it("an invitation's id is not its link: lookup and accept with B's id are 400 VALIDATION_ERROR", async () => {
    const b = await caller("ORG_ADMIN", newOrgId(), "user_b_admin");
    const { id } = await createWithLink(b, "by-id@example.com");
    const before = await storedRows(b.org);
    const details = { token: ["Invalid invitation token"] };
    await expectError(
      await api(`/api/v1/invitations/lookup?token=${id}`),
      400,
      "VALIDATION_ERROR",
      "Bad Request",
      "Validation error",
      details,
    );
    await expectError(
      await api("/api/v1/invitations/accept", {
        method: "POST",
        token: await memberWithEmail(await caller("ORG_ADMIN"), "by-id@example.com"),
        json: { token: id },
      }),
      400,
      "VALIDATION_ERROR",
      "Bad Request",
      "Validation error",
      details,
    );
    expect(await storedRows(b.org)).toEqual(before);
  });

  describe("list filters with B's values never show B's rows", () => {
    /**
     * A and B each have an admin `user_shared` (one user id in two organizations) and one of
     * their own; both invited shared@example.com.
     */
    async function twoOrganizations(role: Role) {
      const a = await caller(role);
      const aAdmin = await caller("ORG_ADMIN", a.org, "user_a_admin");
      const aShared = await caller("ORG_ADMIN", a.org, "user_shared");
      const b = await caller("ORG_ADMIN", newOrgId(), "user_b_admin");
      const bShared = await caller("ORG_ADMIN", b.org, "user_shared");
      const mine = {
        shared: withoutLink(await createWithLink(aAdmin, "shared@example.com")),
        bySharedUser: withoutLink(await createWithLink(aShared, "a-only@example.com")),
      };
      await createWithLink(b, "shared@example.com");
      await createWithLink(b, "b-only@example.com", { role: "ORG_ADMIN" });
      await createWithLink(bShared, "b-shared-user@example.com");
      return { a, mine };
    }

    const filters: [string, string, (mine: Record<"shared" | "bySharedUser", Invitation>) => Invitation[]][] =
      [
        ["B's inviter", "?invitedBy=user_b_admin", () => []],
        ["B's address", "?email=b-only@example.com", () => []],
        ["B's address in upper case", "?email=B-ONLY@EXAMPLE.COM", () => []],
        ["B's address with B's role", "?email=b-only@example.com&role=ORG_ADMIN", () => []],
        [
          "B's inviter and an address both invited",
          "?invitedBy=user_b_admin&email=shared@example.com",
          () => [],
        ],
        ["B's inviter and a status B's rows have", "?invitedBy=user_b_admin&status=PENDING", () => []],
        ["an address both invited", "?email=shared@example.com", (mine) => [mine.shared]],
        ["a user id that is an inviter in both", "?invitedBy=user_shared", (mine) => [mine.bySharedUser]],
        ["a status both have", "?status=PENDING&sort=email", (mine) => [mine.bySharedUser, mine.shared]],
      ];

    for (const role of ["ORG_ADMIN", "OPERATOR"] as const) {
      for (const [name, query, expected] of filters) {
        it(`${role} of A filtering by ${name} (${query}) sees only A's matches, counted alone`, async () => {
          const { a, mine } = await twoOrganizations(role);
          const data = expected(mine);
          expect(await list(a, query)).toEqual({
            data,
            meta: {
              limit: 20,
              page: 1,
              total: data.length,
              totalPages: data.length === 0 ? 0 : 1,
              nextCursor: null,
            },
          });
        });
      }
    }
  });
});
