/**
 * Who calls in the soak: organizations with their members' tokens, and invitees' tokens made on
 * demand, all signed with the soak's own secret and valid for the whole run.
 */
import { sign } from "hono/jwt";
import {
  ADMINS_PER_ORG,
  DURATION_SECONDS,
  OPERATORS_PER_ORG,
  ORGANIZATIONS,
  SECRET,
  SHARED_ADDRESSES_PER_ORG,
} from "./settings.ts";

/** An invitation the soak created, with the link secret it holds now. */
export type Tracked = { id: string; org: Organization; email: string; token: string };
export type Organization = {
  id: string;
  admins: { sub: string; token: string }[];
  operators: string[];
  /** The addresses it invites again and again. */
  shared: string[];
  known: Tracked[];
  /** Its newest invitations. */
  hot: Tracked[];
};

/** Valid from now until well after the run. */
function signed(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ ...claims, iat: now, exp: now + DURATION_SECONDS + 3600 }, SECRET, "HS256");
}

export async function makeOrganizations(): Promise<Organization[]> {
  const organizations: Organization[] = [];
  for (let i = 0; i < ORGANIZATIONS; i++) {
    const id = `50a50000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`;
    const admins = [];
    for (let a = 0; a < ADMINS_PER_ORG; a++) {
      admins.push({
        sub: `admin-${a}`,
        token: await signed({ sub: `admin-${a}`, org_id: id, role: "ORG_ADMIN" }),
      });
    }
    const operators = [];
    for (let o = 0; o < OPERATORS_PER_ORG; o++)
      operators.push(await signed({ sub: `operator-${o}`, org_id: id, role: "OPERATOR" }));
    const shared = Array.from(
      { length: SHARED_ADDRESSES_PER_ORG },
      (_, k) => `shared-${k}@org${i + 1}.soak.example.com`,
    );
    organizations.push({ id, admins, operators, shared, known: [], hot: [] });
  }
  return organizations;
}

/** An invitee as an identity provider signs them in: `sub` and `email`, no organization or role. */
const inviteeTokens = new Map<string, Promise<string>>();
export const inviteeSub = (email: string) => `invitee-${email}`;
export function inviteeToken(email: string): Promise<string> {
  let token = inviteeTokens.get(email);
  if (!token) {
    token = signed({ sub: inviteeSub(email), email, email_verified: true });
    inviteeTokens.set(email, token);
  }
  return token;
}
