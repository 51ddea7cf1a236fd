import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import { expireInvitations } from "../src/jobs/expire-invitations";
import {
  api,
  caller,
  createWithLink,
  databaseSnapshot,
  expectError,
  faultyD1,
  fetchWith,
  inviteeToken,
  restoreAfterEach,
  runSweep,
  seedPending,
  storedRows,
} from "./helpers";

restoreAfterEach();

type Prepared = {
  /** The request, against the database it is given. */
  run: (db: D1Database) => Promise<Response>;
  /** Strings that must never appear in a log line for it (addresses, link tokens). */
  secrets: string[];
  /**
   * Its last statement stores the idempotent answer once the change is made: a fault there keeps
   * the success answer (see test/idempotency.test.ts), so faults are injected before it.
   */
  storesAnswerLast?: boolean;
};

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const post = (token: string, body?: unknown): RequestInit => ({
  method: "POST",
  headers: { ...bearer(token), "Content-Type": "application/json" },
  body: body === undefined ? undefined : JSON.stringify(body),
});

/** Every operation, each set up afresh in its own organization, with what it must not log. */
const operations: [string, () => Promise<Prepared>][] = [
  [
    "create",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const email = `new-${crypto.randomUUID()}@example.com`;
      // A past-due invitation to the same address: create's batch first records it as EXPIRED.
      await seedPending(admin.org, 1, Date.now() - 10_000, Date.now() - 1_000);
      return {
        run: (db) => fetchWith({ DB: db }, "/api/v1/invitations", post(admin.token, { email })),
        secrets: [email],
      };
    },
  ],
  [
    "bulk create",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const emails = [`bulk-${crypto.randomUUID()}@example.com`, `bulk-${crypto.randomUUID()}@example.com`];
      await seedPending(admin.org, 1, Date.now() - 10_000, Date.now() - 1_000);
      return {
        run: (db) =>
          fetchWith(
            { DB: db },
            "/api/v1/invitations/bulk",
            post(admin.token, { invitations: emails.map((email) => ({ email })) }),
          ),
        secrets: emails,
      };
    },
  ],
  [
    "create with an Idempotency-Key",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const email = `keyed-${crypto.randomUUID()}@example.com`;
      const init = post(admin.token, { email });
      return {
        run: (db) =>
          fetchWith({ DB: db }, "/api/v1/invitations", {
            ...init,
            headers: { ...init.headers, "Idempotency-Key": crypto.randomUUID() },
          }),
        secrets: [email],
        storesAnswerLast: true,
      };
    },
  ],
  [
    "revoke",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const invitation = await createWithLink(admin, `revoke-${crypto.randomUUID()}@example.com`);
      return {
        run: (db) =>
          fetchWith({ DB: db }, `/api/v1/invitations/${invitation.id}`, {
            method: "DELETE",
            headers: bearer(admin.token),
          }),
        secrets: [invitation.email, invitation.token],
      };
    },
  ],
  [
    "resend",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const invitation = await createWithLink(admin, `resend-${crypto.randomUUID()}@example.com`);
      return {
        run: (db) =>
          fetchWith(
            { DB: db, RESEND_COOLDOWN_SECONDS: "0" },
            `/api/v1/invitations/${invitation.id}/resend`,
            post(admin.token),
          ),
        secrets: [invitation.email, invitation.token],
      };
    },
  ],
  [
    "accept",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const invitation = await createWithLink(admin, `accept-${crypto.randomUUID()}@example.com`);
      const token = await inviteeToken(invitation.email);
      return {
        run: (db) =>
          fetchWith({ DB: db }, "/api/v1/invitations/accept", post(token, { token: invitation.token })),
        secrets: [invitation.email, invitation.token, token],
      };
    },
  ],
  [
    "list",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const invitation = await createWithLink(admin, `list-${crypto.randomUUID()}@example.com`);
      return {
        run: (db) =>
          fetchWith({ DB: db }, "/api/v1/invitations?status=PENDING", { headers: bearer(admin.token) }),
        secrets: [invitation.email, invitation.token],
      };
    },
  ],
  [
    "get",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const invitation = await createWithLink(admin, `get-${crypto.randomUUID()}@example.com`);
      return {
        run: (db) =>
          fetchWith({ DB: db }, `/api/v1/invitations/${invitation.id}`, { headers: bearer(admin.token) }),
        secrets: [invitation.email, invitation.token],
      };
    },
  ],
  [
    "lookup",
    async () => {
      const admin = await caller("ORG_ADMIN");
      const invitation = await createWithLink(admin, `lookup-${crypto.randomUUID()}@example.com`);
      return {
        run: (db) => fetchWith({ DB: db }, `/api/v1/invitations/lookup?token=${invitation.token}`),
        secrets: [invitation.email, invitation.token],
      };
    },
  ],
];

/** Faults injected across the file, reported once at the end (for the closing figures). */
let injected = 0;

describe("D1 failing under each operation", () => {
  for (const [name, prepare] of operations) {
    it(`${name}: whichever statement fails, the answer is a 500 envelope, nothing is written, and the error is logged with the request id`, async () => {
      // Learn the statements the operation issues, and that it succeeds without a fault.
      const probe = faultyD1();
      const healthyRun = await prepare();
      const healthy = await healthyRun.run(probe.db);
      expect(healthy.status).toBeLessThan(300);
      expect(probe.log.statements.length).toBeGreaterThan(0);
      const faultable = probe.log.statements.length - (healthyRun.storesAnswerLast ? 1 : 0);

      for (let failAt = 0; failAt < faultable; failAt++) {
        const { run, secrets } = await prepare();
        const before = await databaseSnapshot();
        const errors = vi.spyOn(console, "error").mockImplementation(() => {});
        const { db, log } = faultyD1(failAt);
        const res = await run(db);
        expect(log.injected, `statement ${failAt} was broken`).toBeDefined();
        injected += 1;

        const requestId = res.headers.get("X-Request-Id");
        await expectError(
          res,
          500,
          "INTERNAL_SERVER_ERROR",
          "Internal Server Error",
          "Internal server error",
        );
        expect(await databaseSnapshot(), `statement ${failAt}: ${log.injected}`).toEqual(before);

        const lines = errors.mock.calls.map(([line]) => String(line));
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0] ?? "")).toMatchObject({
          level: "error",
          message: "Unhandled error",
          requestId,
        });
        for (const secret of secrets) expect(lines[0]).not.toContain(secret);
        errors.mockRestore();
      }
    });
  }
});

describe("a sweep that fails half-way", () => {
  it("leaves every row either swept or still due, and the next run finishes the job", async () => {
    const { org } = await caller("ORG_ADMIN");
    const now = Date.now();
    vi.spyOn(console, "log").mockImplementation(() => {});
    await expireInvitations(createDb(env.DB), now); // other tests' due rows: this sweep's are all ours
    await seedPending(org, 35, now - 60_000, now - 1_000);

    // Batches of 10: the third UPDATE fails inside D1, after two have committed.
    const { db } = faultyD1(2);
    await expect(expireInvitations(createDb(db), now, { batchSize: 10 })).rejects.toThrow();
    injected += 1;
    const afterFailure = await storedRows(org);
    const swept = afterFailure.filter((row) => row.status === "EXPIRED");
    expect(swept).toHaveLength(20);
    expect(swept.every((row) => row.updated_at === now)).toBe(true);
    expect(
      afterFailure
        .filter((row) => row.status === "PENDING")
        .every((row) => row.expires_at <= now && row.updated_at < now),
    ).toBe(true);

    const rerun = await expireInvitations(createDb(env.DB), now, { batchSize: 10 });
    expect(rerun).toMatchObject({ expired: 15, complete: true });
    expect((await storedRows(org)).map((row) => row.status)).toEqual(Array(35).fill("EXPIRED"));
  });

  it("logs the cron run's failure as one JSON line and lets the platform see it fail", async () => {
    const { org } = await caller("ORG_ADMIN");
    await seedPending(org, 3, Date.now() - 60_000, Date.now() - 1_000);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { db } = faultyD1(0);
    await expect(runSweep(Date.now(), { DB: db })).rejects.toThrow();
    injected += 1;
    const [line] = errors.mock.calls.map(([message]) => JSON.parse(String(message)));
    expect(line).toMatchObject({ level: "error", message: "Expiry sweep failed", cron: "*/15 * * * *" });
    expect((await storedRows(org)).map((row) => row.status)).toEqual(["PENDING", "PENDING", "PENDING"]);
  });
});

describe("concurrency", () => {
  it("50 concurrent creates for one email give exactly one 201, 49 CONFLICTs and one stored row", async () => {
    const admin = await caller("ORG_ADMIN");
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        api("/api/v1/invitations", {
          method: "POST",
          token: admin.token,
          json: { email: "race@example.com" },
        }),
      ),
    );
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(49);
    for (const res of responses.filter((r) => r.status === 409)) {
      expect(((await res.json()) as { code: string }).code).toBe("CONFLICT");
    }
    expect(await storedRows(admin.org)).toHaveLength(1);
    const counted = await env.DB.prepare(
      "SELECT total FROM organization_invitation_counts WHERE organization_id = ?",
    )
      .bind(admin.org)
      .first<{ total: number }>();
    expect(counted?.total).toBe(1);
  });

  it("revokes racing the sweep end in one consistent state each: REVOKED after a 200, EXPIRED after a 400", async () => {
    const admin = await caller("ORG_ADMIN");
    vi.spyOn(console, "log").mockImplementation(() => {});
    // Live now, due by the time the sweep runs for: revoke and sweep both want these rows.
    const invitations = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createWithLink(admin, `racer-${i}@example.com`, { expiresInDays: 1 }),
      ),
    );
    await expireInvitations(createDb(env.DB), Date.now()); // other tests' due rows
    const sweepAt = Date.now() + 2 * 86_400_000;
    const revoke = (invitation: { id: string }) =>
      api(`/api/v1/invitations/${invitation.id}`, { method: "DELETE", token: admin.token });
    // Half the revokes are under way when the sweep starts (in batches of 5, so its statements
    // interleave with theirs); the other half start with it.
    const early = invitations.slice(0, 10).map(revoke);
    const sweep = expireInvitations(createDb(env.DB), sweepAt, { batchSize: 5 });
    const late = invitations.slice(10).map(revoke);
    const responses = await Promise.all([...early, ...late]);
    const swept = await sweep;
    const rows = new Map((await storedRows(admin.org)).map((row) => [row.id, row]));
    let revoked = 0;
    invitations.forEach((invitation, i) => {
      const row = rows.get(invitation.id);
      const status = responses[i]?.status;
      if (status === 200) {
        revoked += 1;
        expect(row).toMatchObject({ status: "REVOKED", revoked_by: admin.sub });
      } else {
        expect(status).toBe(400);
        expect(row).toMatchObject({ status: "EXPIRED", revoked_at: null, updated_at: sweepAt });
      }
    });
    expect(swept.expired).toBe(20 - revoked);
    console.info(`revoke vs sweep: ${revoked} revoked first, ${20 - revoked} swept first`);
  });
});

afterAll(() => {
  // The figure for the record: each statement of each operation, and the two sweep faults.
  console.info(`faults injected: ${injected}`);
});
