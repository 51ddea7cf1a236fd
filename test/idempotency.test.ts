import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDb } from "../src/db/client";
import {
  IDEMPOTENCY_LOCK_MS,
  IDEMPOTENCY_TTL_MS,
  pruneIdempotencyKeys,
} from "../src/idempotency/idempotency.repository";
import {
  api,
  type Caller,
  caller,
  createWithLink,
  expectError,
  faultyD1,
  fetchWith,
  freezeClock,
  type InvitationWithLink,
  newOrgId,
  restoreAfterEach,
  storedEvents,
  storedRows,
} from "./helpers";

restoreAfterEach();

function create(who: Caller, body: unknown, key?: string) {
  return api("/api/v1/invitations", {
    method: "POST",
    token: who.token,
    json: body,
    headers: key === undefined ? {} : { "Idempotency-Key": key },
  });
}

/** A keyed create through the Worker's entry against `db`, a D1 with a statement broken in it. */
function createOn(db: D1Database, who: Caller, body: unknown, key: string) {
  return fetchWith({ DB: db }, "/api/v1/invitations", {
    method: "POST",
    headers: {
      Authorization: `Bearer ${who.token}`,
      "Content-Type": "application/json",
      "Idempotency-Key": key,
    },
    body: JSON.stringify(body),
  });
}

/** A D1 that breaks, inside D1, the first statement a keyed create issues that starts with `prefix`. */
async function breakingAt(who: Caller, prefix: string): Promise<D1Database> {
  const probe = faultyD1();
  const ok = await createOn(
    probe.db,
    who,
    { email: `probe-${crypto.randomUUID()}@example.com` },
    crypto.randomUUID(),
  );
  expect(ok.status).toBe(201);
  const at = probe.log.statements.findIndex((statement) => statement.startsWith(prefix));
  expect(at).toBeGreaterThan(0);
  return faultyD1(at).db;
}

function revoke(who: Caller, id: string, key?: string) {
  return api(`/api/v1/invitations/${id}`, {
    method: "DELETE",
    token: who.token,
    headers: key === undefined ? {} : { "Idempotency-Key": key },
  });
}

function resend(who: Caller, id: string, key?: string) {
  return api(`/api/v1/invitations/${id}/resend`, {
    method: "POST",
    token: who.token,
    headers: key === undefined ? {} : { "Idempotency-Key": key },
  });
}

async function storedKeys(org: string) {
  const { results } = await env.DB.prepare("SELECT * FROM idempotency_keys WHERE organization_id = ?")
    .bind(org)
    .all<{ key_hash: string; fingerprint: string; response: string | null; locked_until: number | null }>();
  return results;
}

describe("Idempotency-Key", () => {
  it("replays the first 201 of a create for a retry with the same key and body: one invitation, one event", async () => {
    const admin = await caller();
    const key = crypto.randomUUID();
    const first = await create(admin, { email: "once@example.com" }, key);
    expect(first.status).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    const created: InvitationWithLink = await first.json();

    const retry = await create(admin, { email: "once@example.com" }, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(retry.headers.get("Location")).toBe(`/api/v1/invitations/${created.id}`);
    expect(retry.headers.get("Cache-Control")).toBe("no-store");
    expect(retry.headers.get("Content-Type")).toMatch(/^application\/json/);
    // The retry's own request id and the usual security headers.
    expect(retry.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(retry.headers.get("X-Request-Id")).not.toBe(first.headers.get("X-Request-Id"));
    expect(retry.headers.get("X-Content-Type-Options")).toBe("nosniff");
    // The same invitation with the same link, which is what a client that lost the answer needs.
    expect(await retry.json()).toEqual(created);

    expect(await storedRows(admin.org)).toHaveLength(1);
    expect((await storedEvents(admin.org)).map((event) => event.type)).toEqual(["invitation.created"]);
  });

  it("treats the same request in another form as the same: a default spelled out, the address's case, a quoted key", async () => {
    const admin = await caller();
    const key = crypto.randomUUID();
    const first = await create(admin, { email: "Same@Example.com" }, key);
    expect(first.status).toBe(201);
    const retry = await create(admin, { email: "same@example.com", role: "VIEWER" }, `"${key}"`);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect((await retry.json<InvitationWithLink>()).id).toBe((await first.json<InvitationWithLink>()).id);
  });

  it("answers 422 IDEMPOTENCY_KEY_REUSED for the same key with another body or another operation, changing nothing", async () => {
    const admin = await caller();
    const key = crypto.randomUUID();
    const created: InvitationWithLink = await (
      await create(admin, { email: "first@example.com" }, key)
    ).json();

    const message = "This Idempotency-Key was already used for a different request";
    const otherBody = await create(admin, { email: "second@example.com" }, key);
    await expectError(otherBody, 422, "IDEMPOTENCY_KEY_REUSED", "Unprocessable Content", message);
    const otherOperation = await revoke(admin, created.id, key);
    await expectError(otherOperation, 422, "IDEMPOTENCY_KEY_REUSED", "Unprocessable Content", message);

    expect((await storedRows(admin.org)).map((row) => [row.email, row.status])).toEqual([
      ["first@example.com", "PENDING"],
    ]);
  });

  it("keeps keys per organization: another organization's same key is its own", async () => {
    const a = await caller();
    const b = await caller();
    const key = "shared-key-000001";
    const ra = await create(a, { email: "x@example.com" }, key);
    const rb = await create(b, { email: "x@example.com" }, key);
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect(rb.headers.get("Idempotent-Replayed")).toBeNull();
    const [ia, ib] = [await ra.json<InvitationWithLink>(), await rb.json<InvitationWithLink>()];
    expect(ia.organizationId).toBe(a.org);
    expect(ib.organizationId).toBe(b.org);
  });

  it("keeps keys per user too: a colleague sending the same key and body runs on its own and never sees the first answer", async () => {
    const first = await caller("ORG_ADMIN", newOrgId(), "user_alice");
    const colleague = await caller("ORG_ADMIN", first.org, "user_bob");
    const key = crypto.randomUUID();
    const created: InvitationWithLink = await (
      await create(first, { email: "team@example.com" }, key)
    ).json();
    const other = await create(colleague, { email: "team@example.com" }, key);
    expect(other.headers.get("Idempotent-Replayed")).toBeNull();
    const text = await other.text();
    expect(text).not.toContain(created.token);
    expect(JSON.parse(text)).toMatchObject({ statusCode: 409, code: "CONFLICT" });
    // Each user's own retry still replays their own answer.
    const again = await create(first, { email: "team@example.com" }, key);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect((await again.json<InvitationWithLink>()).token).toBe(created.token);
  });

  it("of concurrent retries with one key, exactly one creates; the others replay it or are told to wait", async () => {
    const admin = await caller();
    const key = crypto.randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => create(admin, { email: "race@example.com" }, key)),
    );
    const rows = await storedRows(admin.org);
    expect(rows).toHaveLength(1);
    expect(await storedEvents(admin.org)).toHaveLength(1);

    let fresh = 0;
    for (const res of responses) {
      if (res.status === 201) {
        expect((await res.json<InvitationWithLink>()).id).toBe(rows[0]?.id);
        if (res.headers.get("Idempotent-Replayed") === null) fresh += 1;
      } else {
        expect(Number(res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
        await expectError(
          res,
          409,
          "IDEMPOTENCY_KEY_IN_USE",
          "Conflict",
          "A request with this Idempotency-Key is still in progress; retry shortly",
        );
      }
    }
    expect(fresh).toBe(1);
  });

  it("makes a retried revoke answer 200 again instead of 400 for an invitation it already revoked", async () => {
    const admin = await caller();
    const invitation = await createWithLink(admin, "revoke@example.com");
    const key = crypto.randomUUID();
    const first = await revoke(admin, invitation.id, key);
    expect(first.status).toBe(200);
    const retry = await revoke(admin, invitation.id, key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await retry.json()).toEqual({ message: "Invitation revoked" });
    // Without the key the same retry is the contract's 400.
    expect((await revoke(admin, invitation.id)).status).toBe(400);
    expect((await storedEvents(admin.org)).map((event) => event.type)).toEqual([
      "invitation.created",
      "invitation.revoked",
    ]);
  });

  it("makes a retried resend return the same new link, not a second resend or a cooldown 429", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createWithLink(admin, "resend@example.com");
    vi.setSystemTime(Date.now() + 120_000);
    const later = await caller("ORG_ADMIN", admin.org, admin.sub);
    const key = crypto.randomUUID();
    const first = await resend(later, invitation.id, key);
    expect(first.status).toBe(200);
    const resent: InvitationWithLink = await first.json();
    const retry = await resend(later, invitation.id, key);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual(resent);
    expect(resent.token).not.toBe(invitation.token);
    expect((await storedRows(admin.org))[0]?.resend_count).toBe(1);
  });

  it("keeps no refusal: a create that met a pending invitation is judged again on retry, and creates once that one is revoked", async () => {
    const admin = await caller();
    const existing = await createWithLink(admin, "taken@example.com");
    const key = crypto.randomUUID();
    const conflict = "A pending invitation already exists for this email";
    await expectError(
      await create(admin, { email: "taken@example.com" }, key),
      409,
      "CONFLICT",
      "Conflict",
      conflict,
    );
    expect(await storedKeys(admin.org)).toEqual([]);
    expect((await revoke(admin, existing.id)).status).toBe(200);

    const retry = await create(admin, { email: "taken@example.com" }, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await storedRows(admin.org)).toHaveLength(2);
  });

  it("answers a refusal as it is when its key cannot be freed, logs that, and retries wait for the lock", async () => {
    const admin = await caller();
    await createWithLink(admin, "held@example.com");
    const probe = faultyD1();
    const refused = await createOn(probe.db, admin, { email: "held@example.com" }, crypto.randomUUID());
    expect(refused.status).toBe(409);
    const at = probe.log.statements.findIndex((statement) =>
      statement.startsWith('delete from "idempotency_keys"'),
    );
    expect(at).toBeGreaterThan(0);

    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const key = crypto.randomUUID();
    await expectError(
      await createOn(faultyD1(at).db, admin, { email: "held@example.com" }, key),
      409,
      "CONFLICT",
      "Conflict",
      "A pending invitation already exists for this email",
    );
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])))).toEqual([
      expect.objectContaining({
        level: "error",
        message: "Freeing an Idempotency-Key after a refusal failed",
        code: "CONFLICT",
      }),
    ]);
    const retry = await create(admin, { email: "held@example.com" }, key);
    expect(retry.status).toBe(409);
    expect((await retry.json<{ code: string }>()).code).toBe("IDEMPOTENCY_KEY_IN_USE");
  });

  it("does not store a 429 or a 500 either: their retry with the same key runs again", async () => {
    freezeClock();
    const admin = await caller();
    const invitation = await createWithLink(admin, "later@example.com");
    const key = crypto.randomUUID();
    const tooSoon = await resend(admin, invitation.id, key);
    expect(tooSoon.status).toBe(429);
    vi.setSystemTime(Date.now() + 120_000);
    const later = await caller("ORG_ADMIN", admin.org, admin.sub);
    const retry = await resend(later, invitation.id, key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();

    // A create whose insert fails inside D1: a 500, the key freed, the retry creates.
    vi.spyOn(console, "error").mockImplementation(() => {});
    const createKey = crypto.randomUUID();
    const db = await breakingAt(later, 'insert into "invitations"');
    const failed = await createOn(db, later, { email: "flaky@example.com" }, createKey);
    expect(failed.status).toBe(500);
    expect(await storedKeys(admin.org)).toHaveLength(2);
    const again = await create(later, { email: "flaky@example.com" }, createKey);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("frees a key after 24 hours: then it may be used for another request", async () => {
    freezeClock();
    const admin = await caller();
    const key = crypto.randomUUID();
    expect((await create(admin, { email: "day-one@example.com" }, key)).status).toBe(201);
    vi.setSystemTime(Date.now() + IDEMPOTENCY_TTL_MS - 1);
    const almost = await caller("ORG_ADMIN", admin.org, admin.sub);
    expect((await create(almost, { email: "day-two@example.com" }, key)).status).toBe(422);
    vi.setSystemTime(Date.now() + 1);
    const next = await caller("ORG_ADMIN", admin.org, admin.sub);
    const reused = await create(next, { email: "day-two@example.com" }, key);
    expect(reused.status).toBe(201);
    expect(reused.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("a request that died holding its key makes retries wait, until its lock lapses and a retry runs again", async () => {
    freezeClock();
    const admin = await caller();
    const key = crypto.randomUUID();
    // The answer cannot be stored: the create happened, its key stays locked.
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const db = await breakingAt(admin, 'update "idempotency_keys"');
    const first = await createOn(db, admin, { email: "stuck@example.com" }, key);
    expect(first.status).toBe(201);
    expect(JSON.parse(String(errors.mock.calls.at(-1)?.[0]))).toMatchObject({
      message: "Storing an idempotent answer failed",
    });

    const waiting = await create(admin, { email: "stuck@example.com" }, key);
    expect(waiting.status).toBe(409);
    expect((await waiting.json<{ code: string }>()).code).toBe("IDEMPOTENCY_KEY_IN_USE");

    vi.setSystemTime(Date.now() + IDEMPOTENCY_LOCK_MS);
    const later = await caller("ORG_ADMIN", admin.org, admin.sub);
    // It runs again; the invitation it made the first time is what a second create meets.
    const rerun = await create(later, { email: "stuck@example.com" }, key);
    expect(rerun.status).toBe(409);
    expect((await rerun.json<{ code: string }>()).code).toBe("CONFLICT");
    expect(rerun.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("stores neither the key nor the answer in clear: no token, no address, no key in the row", async () => {
    const admin = await caller();
    const key = `key-${crypto.randomUUID()}`;
    const created: InvitationWithLink = await (
      await create(admin, { email: "private@example.com" }, key)
    ).json();
    const [row] = await storedKeys(admin.org);
    const stored = JSON.stringify(row);
    for (const secret of [key, created.token, created.email, created.id])
      expect(stored).not.toContain(secret);
    expect(row?.response).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(row?.locked_until).toBeNull();
  });

  it("refuses a malformed key with 400 VALIDATION_ERROR before anything runs", async () => {
    const admin = await caller();
    for (const bad of [
      "",
      "too-short-15chr",
      "a".repeat(256),
      "has space in it here",
      "naïve-but-long-enough",
    ]) {
      const res = await create(admin, { email: "never@example.com" }, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      const body = await res.json<{ code: string; details: object }>();
      expect(body.code).toBe("VALIDATION_ERROR");
      expect(Object.keys(body.details)).toEqual(["idempotency-key"]);
    }
    expect(await storedRows(admin.org)).toEqual([]);
    expect(await storedKeys(admin.org)).toEqual([]);
  });

  it("the cron deletes expired keys and keeps live ones", async () => {
    const admin = await caller();
    await create(admin, { email: "kept@example.com" }, crypto.randomUUID());
    await create(admin, { email: "dropped@example.com" }, crypto.randomUUID());
    const [dropped] = await storedKeys(admin.org);
    await env.DB.prepare("UPDATE idempotency_keys SET expires_at = ? WHERE key_hash = ?")
      .bind(Date.now() - 1, dropped?.key_hash)
      .run();
    expect(await pruneIdempotencyKeys(createDb(env.DB), Date.now())).toBeGreaterThanOrEqual(1);
    expect((await storedKeys(admin.org)).map((row) => row.key_hash)).not.toContain(dropped?.key_hash);
    expect(await storedKeys(admin.org)).toHaveLength(1);
  });
});
