import { describe, expect, it } from "vitest";
import { api, caller, createWithLink, expectError, inviteeToken, list, storedRows } from "./helpers";

/**
 * Addresses decide who gets in, so they compare as they are stored: ASCII whitespace trimmed and
 * `A`–`Z` lower-cased, nothing else. Every look-alike below is a different mailbox; JavaScript's
 * Unicode `toLowerCase()` would fold the Kelvin sign into `k`, and `trim()` would strip the
 * Unicode spaces. The invited address has k, i and s in both its local part and its domain.
 */
const INVITED = "kiss@kilns.example";

const LOOK_ALIKES: [string, string][] = [
  ["a Kelvin sign (U+212A) in the local part", "\u212Aiss@kilns.example"],
  ["a Kelvin sign (U+212A) in the domain", "kiss@\u212Ailns.example"],
  ["a Turkish dotted capital I (U+0130) in the local part", "k\u0130ss@kilns.example"],
  ["a Turkish dotted capital I (U+0130) in the domain", "kiss@k\u0130lns.example"],
  ["a Turkish dotless i (U+0131) in the local part", "k\u0131ss@kilns.example"],
  ["a Turkish dotless i (U+0131) in the domain", "kiss@k\u0131lns.example"],
  ["a long s (U+017F) in the local part", "ki\u017Fs@kilns.example"],
  ["a long s (U+017F) in the domain", "kiss@kiln\u017F.example"],
  ["a full-width capital K (U+FF2B) in the local part", "\uFF2Biss@kilns.example"],
  ["a full-width small k (U+FF4B) in the domain", "kiss@\uFF4Bilns.example"],
  ["a combining dot above (U+0307) in the local part", "ki\u0307ss@kilns.example"],
  ["a combining acute accent (U+0301) in the domain", "kiss@ki\u0301lns.example"],
  ["a leading no-break space (U+00A0)", "\u00A0kiss@kilns.example"],
  ["a trailing byte order mark (U+FEFF)", "kiss@kilns.example\uFEFF"],
  ["a leading ideographic space (U+3000)", "\u3000kiss@kilns.example"],
  ["a trailing line separator (U+2028)", "kiss@kilns.example\u2028"],
];

function accept(email: string, token: string) {
  return inviteeToken(email).then((bearer) =>
    api("/api/v1/invitations/accept", { method: "POST", token: bearer, json: { token } }),
  );
}

describe("accept compares the token's email exactly, folding ASCII case and whitespace only", () => {
  for (const [name, email] of LOOK_ALIKES) {
    it(`refuses ${name} with 403 INVITATION_EMAIL_MISMATCH and changes nothing`, async () => {
      const admin = await caller();
      const { token } = await createWithLink(admin, INVITED, { role: "ORG_ADMIN" });
      const before = await storedRows(admin.org);
      await expectError(
        await accept(email, token),
        403,
        "INVITATION_EMAIL_MISMATCH",
        "Forbidden",
        "This invitation was sent to a different email address",
      );
      expect(await storedRows(admin.org)).toEqual(before);
      expect(before[0]).toMatchObject({ status: "PENDING", accepted_by: null });
    });
  }

  for (const email of ["KISS@KILNS.EXAMPLE", " \t Kiss@Kilns.Example\r\n"]) {
    it(`accepts ${JSON.stringify(email)}: ASCII letters in any case, ASCII whitespace at the ends`, async () => {
      const admin = await caller();
      const { token } = await createWithLink(admin, INVITED);
      const res = await accept(email, token);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ email: INVITED, status: "ACCEPTED" });
    });
  }
});

describe("create stores an address only as typed in ASCII", () => {
  for (const [name, email] of LOOK_ALIKES) {
    it(`refuses an address with ${name} with 400 VALIDATION_ERROR, storing nothing`, async () => {
      const admin = await caller();
      const res = await api("/api/v1/invitations", { method: "POST", token: admin.token, json: { email } });
      await expectError(res, 400, "VALIDATION_ERROR", "Bad Request", "Validation error", {
        email: ["Invalid email address"],
      });
      expect(await storedRows(admin.org)).toEqual([]);
    });
  }

  it("still trims ASCII whitespace and lower-cases ASCII letters", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, "\t KISS@Kilns.EXAMPLE \n");
    expect(created.email).toBe(INVITED);
  });
});

describe("the list's email filter folds nothing but ASCII case and whitespace", () => {
  it("finds the invitation by its address in any ASCII case, and not by a look-alike", async () => {
    const admin = await caller();
    const created = await createWithLink(admin, INVITED);
    const found = await list(admin, `?email=${encodeURIComponent(" KISS@kilns.EXAMPLE ")}`);
    expect(found.data.map((invitation) => invitation.id)).toEqual([created.id]);
    for (const [, email] of LOOK_ALIKES) {
      const other = await list(admin, `?email=${encodeURIComponent(email)}`);
      expect({ email, data: other.data, total: other.meta.total }).toEqual({ email, data: [], total: 0 });
    }
  });
});

describe("the inbox compares the token's email the same way", () => {
  const inboxOf = async (email: string) => {
    const res = await api("/api/v1/me/invitations", { token: await inviteeToken(email) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: { id: string }[] }).data.map((item) => item.id);
  };
  const answer = async (email: string, id: string, verb: "accept" | "decline") =>
    api(`/api/v1/me/invitations/${id}/${verb}`, { method: "POST", token: await inviteeToken(email) });

  for (const [name, email] of LOOK_ALIKES) {
    it(`shows a token with ${name} nothing, and answers its accept and decline with 404, changing nothing`, async () => {
      const admin = await caller();
      const { id } = await createWithLink(admin, INVITED, { role: "ORG_ADMIN" });
      const before = await storedRows(admin.org);
      expect(await inboxOf(email)).toEqual([]);
      for (const verb of ["accept", "decline"] as const) {
        await expectError(
          await answer(email, id, verb),
          404,
          "INVITATION_NOT_FOUND",
          "Not Found",
          "Invitation not found",
        );
      }
      expect(await storedRows(admin.org)).toEqual(before);
    });
  }

  it("finds and accepts it for the address in any ASCII case, with ASCII whitespace at the ends", async () => {
    const admin = await caller();
    const { id } = await createWithLink(admin, INVITED);
    expect(await inboxOf(" \t KISS@Kilns.EXAMPLE\r\n")).toContain(id);
    const res = await answer("KISS@KILNS.EXAMPLE", id, "accept");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, status: "ACCEPTED" });
  });
});
