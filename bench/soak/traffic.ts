/**
 * The soak's traffic: request loops, one request at a time each, until the deadline. Each request is
 * an operation drawn from the mix, aimed where races happen (the same addresses, each
 * organization's newest invitations) and now and then where it must fail (another organization's
 * invitation, the wrong invitee); each answer is checked against its request and recorded.
 */
import { call } from "./call.ts";
import { inviteeSub, inviteeToken, type Organization, type Tracked } from "./callers.ts";
import { failCheck, observed } from "./observed.ts";
import { ADMINS_PER_ORG, HOT_PER_ORG, MIX, OPERATIONS, type Operation } from "./settings.ts";

/** Where the traffic goes: the invitations API's base URL, and the organizations that call it. */
type Traffic = { api: string; organizations: Organization[] };

const { checks, races } = observed;

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const chance = (p: number) => Math.random() < p;
// String(): JSON.stringify(undefined) is undefined, and an example must never throw.
const excerpt = (body: unknown) => String(JSON.stringify(body)).slice(0, 200);

/** The same address as a person might type it: letters in random case, sometimes padded. */
function retyped(address: string): string {
  const mixed = [...address].map((ch) => (chance(0.3) ? ch.toUpperCase() : ch)).join("");
  return chance(0.1) ? `  ${mixed} ` : mixed;
}

let freshAddresses = 0;

function remember(org: Organization, invitation: Tracked) {
  org.known.push(invitation);
  org.hot.push(invitation);
  if (org.hot.length > HOT_PER_ORG) org.hot.shift();
}

/** Another organization's invitation, for requests that must not reach it. */
function foreignInvitation({ organizations }: Traffic, org: Organization): Tracked | undefined {
  const other = pick(organizations);
  return other === org ? undefined : pick(other.known);
}

const createsInFlight = new Map<string, number>();
const changesInFlight = new Map<string, number>();
const resendsInFlight = new Map<string, number>();
const enter = (inFlight: Map<string, number>, key: string) => inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
const leave = (inFlight: Map<string, number>, key: string) => inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
const busy = (inFlight: Map<string, number>, key: string) => (inFlight.get(key) ?? 0) > 0;
/** A revoke or accept of `id` is starting: does it race another revoke, accept or resend of it? */
function noteChangeRaces(id: string) {
  if (busy(changesInFlight, id)) races.revokeOrAcceptSameInvitation++;
  if (busy(resendsInFlight, id)) races.resendWhileAcceptOrRevoke++;
}

const answeredBy = (answered: Map<string, string[]>, id: string, caller: string) =>
  answered.set(id, [...(answered.get(id) ?? []), caller]);

type InvitationBody = { id: string; organizationId: string; email: string; status: string; token?: unknown };
function asInvitation(body: unknown): InvitationBody | undefined {
  const value = body as Partial<InvitationBody> | undefined;
  return typeof value?.id === "string" &&
    typeof value.organizationId === "string" &&
    typeof value.email === "string" &&
    typeof value.status === "string"
    ? (value as InvitationBody)
    : undefined;
}

/** A 2xx body checked against its request: the invitation when `matches` holds of it, else undefined. */
function checkResponse(what: string, body: unknown, matches: (invitation: InvitationBody) => boolean) {
  checks.response.checked++;
  const invitation = asInvitation(body);
  if (invitation && matches(invitation)) return invitation;
  failCheck(checks.response, `${what}: ${excerpt(body)}`);
  return undefined;
}

async function create({ api }: Traffic, org: Organization) {
  const admin = pick(org.admins);
  const address = chance(0.6) ? pick(org.shared) : `fresh-${++freshAddresses}@soak.example.com`;
  const body: Record<string, unknown> = { email: retyped(address) };
  if (chance(0.5)) body.role = pick(["ORG_ADMIN", "OPERATOR", "VIEWER"]);
  if (chance(0.3)) body.expiresInDays = 1 + Math.floor(Math.random() * 30);
  const key = `${org.id} ${address}`;
  if (busy(createsInFlight, key)) races.createSameAddress++;
  enter(createsInFlight, key);
  const answer = await call("create", "POST", api, { token: admin.token, json: body }).finally(() =>
    leave(createsInFlight, key),
  );
  if (answer?.status !== 201) return;
  checkResponse(
    `create 201 for ${org.id} ${address}`,
    answer.body,
    (i) =>
      i.organizationId === org.id &&
      i.email === address &&
      i.status === "PENDING" &&
      typeof i.token === "string",
  );
  // Recorded even when the body is off in other ways: the database is checked against it later.
  const invitation = asInvitation(answer.body);
  if (!invitation) return;
  const token = invitation.token;
  observed.created.set(invitation.id, { org: org.id, email: address });
  remember(org, { id: invitation.id, org, email: address, token: typeof token === "string" ? token : "" });
}

const LIST_QUERIES: ((org: Organization) => string)[] = [
  () => "",
  () => "?status=PENDING",
  () => "?status=PENDING,EXPIRED&sort=email&limit=5",
  (org) => `?email=${encodeURIComponent(retyped(pick(org.shared)).trim())}`,
  () => "?role=OPERATOR&role=VIEWER&sort=-expiresAt",
  () => `?invitedBy=admin-${Math.floor(Math.random() * ADMINS_PER_ORG)}`,
  () => "?status=ACCEPTED,REVOKED&page=2&limit=10",
  () => "?sort=createdAt&limit=100",
];

/** An operator's or an admin's token, half and half: reads are open to both. */
const readerToken = (org: Organization) => (chance(0.5) ? pick(org.operators) : pick(org.admins).token);

async function list({ api }: Traffic, org: Organization) {
  const answer = await call("list", "GET", `${api}${pick(LIST_QUERIES)(org)}`, { token: readerToken(org) });
  if (answer?.status !== 200) return;
  const page = answer.body as { data?: unknown; meta?: { total?: unknown } } | undefined;
  checks.tenancy.checked++;
  if (!Array.isArray(page?.data) || typeof page.meta?.total !== "number") {
    failCheck(checks.response, `list 200 without data/meta: ${excerpt(answer.body)}`);
    return;
  }
  const foreign = page.data.map(asInvitation).find((invitation) => invitation?.organizationId !== org.id);
  if (foreign !== undefined || page.data.some((item) => !asInvitation(item))) {
    failCheck(checks.tenancy, `list for ${org.id} showed ${excerpt(foreign)}`);
  }
}

/** A request at another organization's invitation: 404, whatever it was (429 aside). */
function checkOutOfReach(what: string, foreign: Tracked, org: Organization, status: number) {
  if (status === 429) return;
  checks.tenancy.checked++;
  if (status !== 404)
    failCheck(checks.tenancy, `${what} of ${foreign.org.id}'s ${foreign.id} as ${org.id}: ${status}`);
}

async function get(traffic: Traffic, org: Organization) {
  const token = readerToken(org);
  const foreign = chance(0.1) ? foreignInvitation(traffic, org) : undefined;
  if (foreign) {
    const answer = await call("get", "GET", `${traffic.api}/${foreign.id}`, { token });
    if (answer) checkOutOfReach("get", foreign, org, answer.status);
    return;
  }
  const target = pick(org.known);
  const answer = await call("get", "GET", `${traffic.api}/${target.id}`, { token });
  if (answer?.status !== 200) return;
  checkResponse(
    `get ${target.id}`,
    answer.body,
    (i) => i.id === target.id && i.organizationId === org.id && i.email === target.email,
  );
}

async function revoke(traffic: Traffic, org: Organization) {
  const admin = pick(org.admins);
  const foreign = chance(0.05) ? foreignInvitation(traffic, org) : undefined;
  if (foreign) {
    const answer = await call("revoke", "DELETE", `${traffic.api}/${foreign.id}`, { token: admin.token });
    if (answer) checkOutOfReach("revoke", foreign, org, answer.status);
    if (answer?.status === 200) answeredBy(observed.revokedBy, foreign.id, admin.sub);
    return;
  }
  const target = pick(org.hot);
  noteChangeRaces(target.id);
  enter(changesInFlight, target.id);
  // Upper case on purpose now and then: ids are accepted in any case.
  const id = chance(0.1) ? target.id.toUpperCase() : target.id;
  const answer = await call("revoke", "DELETE", `${traffic.api}/${id}`, { token: admin.token }).finally(() =>
    leave(changesInFlight, target.id),
  );
  if (answer?.status === 200) answeredBy(observed.revokedBy, target.id, admin.sub);
}

async function accept({ api }: Traffic, org: Organization) {
  const target = pick(org.hot);
  // Now and then someone else's account holds the link: it must never accept.
  const wrong = chance(0.1) ? pick(org.shared.filter((address) => address !== target.email)) : undefined;
  const email = wrong ?? target.email;
  noteChangeRaces(target.id);
  enter(changesInFlight, target.id);
  const answer = await call("accept", "POST", `${api}/accept`, {
    token: await inviteeToken(email),
    json: { token: target.token },
  }).finally(() => leave(changesInFlight, target.id));
  if (!answer) return;
  if (wrong) {
    if (answer.status !== 429) checks.wrongAddress.checked++;
    if (answer.status === 200)
      failCheck(checks.wrongAddress, `${wrong} accepted ${target.id}, sent to ${target.email}`);
  }
  if (answer.status !== 200) return;
  checkResponse(
    `accept of ${target.id}`,
    answer.body,
    (i) => i.id === target.id && i.status === "ACCEPTED" && i.organizationId === org.id,
  );
  answeredBy(observed.acceptedBy, target.id, inviteeSub(email));
}

async function resend({ api }: Traffic, org: Organization) {
  // Mostly the oldest invitations: only those sent RESEND_COOLDOWN_SECONDS ago can go again.
  const target = org.known[Math.floor(Math.random() ** 3 * org.known.length)] ?? pick(org.known);
  if (busy(changesInFlight, target.id)) races.resendWhileAcceptOrRevoke++;
  enter(resendsInFlight, target.id);
  const answer = await call("resend", "POST", `${api}/${target.id}/resend`, {
    token: pick(org.admins).token,
  }).finally(() => leave(resendsInFlight, target.id));
  if (answer?.status !== 200) return;
  observed.resends.set(target.id, (observed.resends.get(target.id) ?? 0) + 1);
  const invitation = checkResponse(
    `resend of ${target.id}`,
    answer.body,
    (i) => i.id === target.id && i.status === "PENDING" && typeof i.token === "string",
  );
  // The old link stops working: later accepts and previews use the new one.
  if (invitation) target.token = String(invitation.token);
}

async function lookup({ api }: Traffic, org: Organization) {
  const target = pick(org.known);
  const answer = await call("lookup", "GET", `${api}/lookup?token=${encodeURIComponent(target.token)}`);
  if (answer?.status !== 200) return;
  checkResponse(
    `preview of ${target.id}`,
    answer.body,
    (i) => i.id === target.id && i.organizationId === org.id && i.email === target.email,
  );
}

const RUN: Record<Operation, (traffic: Traffic, org: Organization) => Promise<void>> = {
  create,
  list,
  get,
  revoke,
  accept,
  resend,
  lookup,
};

const TOTAL_WEIGHT = Object.values(MIX).reduce((sum, weight) => sum + weight, 0);
function pickOperation(): Operation {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const op of OPERATIONS) {
    roll -= MIX[op];
    if (roll < 0) return op;
  }
  return "create";
}

/** `connections` request loops against `api` until `deadline` (epoch ms). */
export async function runTraffic(traffic: Traffic, connections: number, deadline: number) {
  const loop = async () => {
    while (Date.now() < deadline) {
      const org = pick(traffic.organizations);
      // Until an organization has invitations, everything that needs one creates one instead.
      await RUN[org.known.length === 0 ? "create" : pickOperation()](traffic, org);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
}
