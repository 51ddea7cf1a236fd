/**
 * Prints a bearer token signed with the local secret, for trying the API against `npm run dev`:
 *
 *   npm run token -- --role ORG_ADMIN [--org UUID] [--sub ID] [--name NAME] [--org-name NAME]
 *                    [--ttl SECONDS] [--iss ISS] [--aud AUD]
 *   npm run token -- --email EMAIL [--sub ID] [--ttl SECONDS]
 *
 * The first is a member of an organization; the second an invitee, as an identity provider signs
 * a user in before they belong to any organization: `sub`, `email` and `email_verified: true`,
 * and no `org_id` or `role` unless `--org` / `--role` are given as well. `--name` and `--org-name`
 * add the `name` and `org_name` claims, which invitation emails show.
 *
 * The secret (and JWT_ISSUER / JWT_AUDIENCE, when set) come from .dev.vars, or from
 * .dev.vars.example before the first `npm run dev` has created it.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseArgs, parseEnv } from "node:util";
import { sign } from "hono/jwt";

/** The organization the README's examples use, so tokens made separately share one. */
const DEMO_ORG_ID = "7bc05553-4b68-44e8-b7bc-37be63c6d9e9";
const ROLES = ["ORG_ADMIN", "OPERATOR", "VIEWER"];

const { values } = parseArgs({
  options: {
    role: { type: "string" },
    org: { type: "string" },
    email: { type: "string" },
    sub: { type: "string" },
    ttl: { type: "string", default: "3600" },
    iss: { type: "string" },
    aud: { type: "string" },
    name: { type: "string" },
    "org-name": { type: "string" },
  },
});

const invitee = values.email !== undefined;
const member = !invitee || values.role !== undefined || values.org !== undefined;
const role = (values.role ?? "ORG_ADMIN").toUpperCase();
if (!ROLES.includes(role)) {
  console.error(`--role must be one of ${ROLES.join(", ")}`);
  process.exit(2);
}
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error("--ttl must be a positive number of seconds");
  process.exit(2);
}

const varsFile = existsSync(".dev.vars") ? ".dev.vars" : ".dev.vars.example";
const vars = parseEnv(readFileSync(varsFile, "utf8"));
if (!vars.JWT_SECRET) {
  console.error(`No JWT_SECRET in ${varsFile}`);
  process.exit(1);
}

const now = Math.floor(Date.now() / 1000);
const payload: Record<string, unknown> = {
  sub: values.sub ?? (invitee ? `user_${values.email?.split("@")[0]}` : `user_${role.toLowerCase()}`),
  iat: now,
  exp: now + ttl,
};
if (member) {
  payload.org_id = values.org ?? DEMO_ORG_ID;
  payload.role = role;
}
if (values.name !== undefined) payload.name = values.name;
if (values["org-name"] !== undefined) payload.org_name = values["org-name"];
if (invitee) {
  payload.email = values.email;
  payload.email_verified = true;
}
const iss = values.iss ?? vars.JWT_ISSUER;
const aud = values.aud ?? vars.JWT_AUDIENCE;
if (iss) payload.iss = iss;
if (aud) payload.aud = aud;

console.log(await sign(payload, vars.JWT_SECRET, "HS256"));
