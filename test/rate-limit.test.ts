import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  caller,
  countAllRows,
  createWithLink,
  expectError,
  fetchWith,
  inviteeToken,
  restoreAfterEach,
} from "./helpers";

/**
 * The real local rate limiter with small limits (vitest.config.ts): 2 writes and 5 reads a
 * minute per key, in place of wrangler.toml's 60 and 600.
 */
const tight = () => ({
  RATE_LIMIT_WRITES: env.TEST_RATE_LIMIT_WRITES,
  RATE_LIMIT_READS: env.TEST_RATE_LIMIT_READS,
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const json = (token: string, body: unknown) => ({
  method: "POST",
  headers: { ...bearer(token), "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

async function expectRateLimited(res: Response) {
  expect(res.headers.get("Retry-After")).toBe("60");
  await expectError(res, 429, "RATE_LIMITED", "Too Many Requests", "Too many requests");
}

beforeEach(async () => {
  // The local limiter counts in windows aligned to the minute: a test that straddled a boundary
  // would see its count reset half-way. Start each one with at least 10 s of window left.
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
});

restoreAfterEach();

describe("rate limiting (Workers Rate Limiting binding)", () => {
  it("refuses a user's writes over the limit with 429 and Retry-After, and stores nothing for them", async () => {
    const admin = await caller("ORG_ADMIN");
    const create = (email: string) => fetchWith(tight(), "/api/v1/invitations", json(admin.token, { email }));
    expect((await create("a@example.com")).status).toBe(201);
    expect((await create("b@example.com")).status).toBe(201);
    const rowsBefore = await countAllRows();
    await expectRateLimited(await create("c@example.com"));
    expect(await countAllRows()).toBe(rowsBefore);
  });

  it("counts per organization and user: a colleague, or the same user in another organization, is not held back", async () => {
    const admin = await caller("ORG_ADMIN", undefined, "user_busy");
    const colleague = await caller("ORG_ADMIN", admin.org, "user_colleague");
    const elsewhere = await caller("ORG_ADMIN", undefined, "user_busy");
    const create = (who: { token: string }, email: string) =>
      fetchWith(tight(), "/api/v1/invitations", json(who.token, { email }));
    await create(admin, "1@example.com");
    await create(admin, "2@example.com");
    await expectRateLimited(await create(admin, "3@example.com"));
    expect((await create(colleague, "3@example.com")).status).toBe(201);
    expect((await create(elsewhere, "3@example.com")).status).toBe(201);
  });

  it("limits reads and writes separately: a user out of writes can still read", async () => {
    const admin = await caller("ORG_ADMIN");
    for (const email of ["1@example.com", "2@example.com"]) {
      await fetchWith(tight(), "/api/v1/invitations", json(admin.token, { email }));
    }
    await expectRateLimited(
      await fetchWith(tight(), "/api/v1/invitations", json(admin.token, { email: "3@example.com" })),
    );
    const list = await fetchWith(tight(), "/api/v1/invitations", { headers: bearer(admin.token) });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { meta: { total: number } }).meta.total).toBe(2);
  });

  it("holds reads to their own, looser limit", async () => {
    const operator = await caller("OPERATOR");
    for (let i = 0; i < 5; i++) {
      expect(
        (await fetchWith(tight(), "/api/v1/invitations", { headers: bearer(operator.token) })).status,
      ).toBe(200);
    }
    await expectRateLimited(
      await fetchWith(tight(), "/api/v1/invitations", { headers: bearer(operator.token) }),
    );
  });

  it("counts every write a user attempts, revokes and resends included, and refused ones too", async () => {
    const admin = await caller("ORG_ADMIN");
    const invitation = await createWithLink(admin, "target@example.com"); // outside the tight limiter
    const revokeMissing = await fetchWith(tight(), `/api/v1/invitations/${crypto.randomUUID()}`, {
      method: "DELETE",
      headers: bearer(admin.token),
    });
    expect(revokeMissing.status).toBe(404);
    const resend = await fetchWith(tight(), `/api/v1/invitations/${invitation.id}/resend`, {
      method: "POST",
      headers: bearer(admin.token),
    });
    expect(resend.status).toBe(429); // the resend cooldown: create was the first send
    await expectRateLimited(
      await fetchWith(tight(), `/api/v1/invitations/${invitation.id}`, {
        method: "DELETE",
        headers: bearer(admin.token),
      }),
    );
    const get = await fetchWith({}, `/api/v1/invitations/${invitation.id}`, { headers: bearer(admin.token) });
    expect(((await get.json()) as { status: string }).status).toBe("PENDING");
  });

  it("checks the token first: requests without a valid one are 401 and count against no one", async () => {
    const admin = await caller("ORG_ADMIN");
    for (let i = 0; i < 4; i++) {
      const res = await fetchWith(
        tight(),
        "/api/v1/invitations",
        json("not-a-token", { email: "x@example.com" }),
      );
      expect(res.status).toBe(401);
    }
    expect(
      (await fetchWith(tight(), "/api/v1/invitations", json(admin.token, { email: "x@example.com" }))).status,
    ).toBe(201);
  });

  it("limits before the role check: a VIEWER's attempts count, and the limit answers before 403", async () => {
    const viewer = await caller("VIEWER");
    const create = () =>
      fetchWith(tight(), "/api/v1/invitations", json(viewer.token, { email: "v@example.com" }));
    expect((await create()).status).toBe(403);
    expect((await create()).status).toBe(403);
    await expectRateLimited(await create());
  });

  it("limits accepts per invitee", async () => {
    const token = await inviteeToken(`flood-${crypto.randomUUID()}@example.com`, {
      sub: `user_${crypto.randomUUID()}`,
    });
    const accept = () =>
      fetchWith(tight(), "/api/v1/invitations/accept", json(token, { token: "A".repeat(43) }));
    expect((await accept()).status).toBe(404);
    expect((await accept()).status).toBe(404);
    await expectRateLimited(await accept());
  });

  it("limits the tokenless preview per client IP address", async () => {
    const lookup = (ip: string) =>
      fetchWith(tight(), `/api/v1/invitations/lookup?token=${"A".repeat(43)}`, {
        headers: { "CF-Connecting-IP": ip },
      });
    const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
    for (let i = 0; i < 5; i++) expect((await lookup(ip)).status).toBe(404);
    await expectRateLimited(await lookup(ip));
    expect((await lookup("198.51.100.7")).status).toBe(404);
  });

  it("logs each 429 as one JSON line with the request id and the caller's ids, no token or email", async () => {
    const admin = await caller("ORG_ADMIN");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const create = () =>
      fetchWith(tight(), "/api/v1/invitations", json(admin.token, { email: "logged@example.com" }));
    await create();
    await fetchWith(tight(), "/api/v1/invitations", json(admin.token, { email: "logged2@example.com" }));
    const res = await create();
    expect(res.status).toBe(429);
    const lines = warn.mock.calls.map(([line]) => String(line));
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        level: "warn",
        message: "Rate limited",
        requestId: res.headers.get("X-Request-Id"),
        limiter: "writes",
        organizationId: admin.org,
        userId: admin.sub,
        method: "POST",
        route: "/api/v1/invitations",
      },
    ]);
    expect(lines.join("\n")).not.toMatch(/logged|@|eyJ/);
  });
});
