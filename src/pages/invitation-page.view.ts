import type { InvitationRow, Role } from "../db/schema";
import { effectiveStatus } from "../invitations/invitation-status";
import { INVITATION_TOKEN_PATTERN, INVITE_PAGE_PATH, inviteUrl } from "../invitations/invitation-token";
import { redirectUrlProblem } from "../invitations/redirect-url";
import type { Config } from "../lib/config";
import { type PublicDetail, publicDetails } from "./public-details";

/*
 * What the invitation page shows, decided apart from how it is drawn (invitation-page.tsx): one
 * state per case a link can be in, each with its HTTP status. Pure: the route reads the row, this
 * decides, the component renders. A state added here fails the type check until the component
 * draws it.
 */

/** Where the pending page's decline form posts. */
export const DECLINE_PATH = `${INVITE_PAGE_PATH}/decline`;

/** What every state about a known invitation can say: caller-supplied names, escaped when drawn. */
export type InvitationFacts = {
  organizationName: string | null;
  inviterName: string | null;
  role: Role;
  /** The address the invitation was sent to: the one to sign in with. */
  email: string;
  /** Epoch ms. */
  expiresAt: number;
  acceptedAt: number | null;
  revokedAt: number | null;
  declinedAt: number | null;
  /** The public metadata in words (public-details.ts). The private metadata is never read. */
  publicDetails: PublicDetail[];
};

/**
 * The page for a link, by state. `pending` is the only one with ways on: `continueUrl` (absent
 * when there is nowhere to continue to) and the decline form, which posts `token` back. A state
 * about a link that no longer opens an invitation has the status accepting it would answer.
 * `you_declined` is the answer to the decline form that changed the invitation.
 */
export type InvitationPageView =
  | {
      state: "pending";
      status: 200;
      invitation: InvitationFacts;
      continueUrl: string | undefined;
      token: string;
    }
  | { state: "accepted"; status: 409; invitation: InvitationFacts }
  | { state: "expired"; status: 410; invitation: InvitationFacts }
  | { state: "revoked"; status: 410; invitation: InvitationFacts }
  | { state: "declined"; status: 410; invitation: InvitationFacts }
  | { state: "you_declined"; status: 200; invitation: InvitationFacts }
  | { state: "unknown"; status: 404 }
  | { state: "malformed"; status: 400 }
  | { state: "too_large"; status: 413 }
  | { state: "rate_limited"; status: 429 }
  | { state: "error"; status: 500 };

export type PageState = InvitationPageView["state"];

/** A `token` query value that can be a link's secret at all; anything else is a malformed link. */
export function isWellFormedToken(token: string | undefined): token is string {
  return token !== undefined && INVITATION_TOKEN_PATTERN.test(token);
}

/**
 * Where the Continue button goes for this invitation, with the token added as `token`: the
 * invitation's own redirect URL, else the app's sign-in-and-accept page, ACCEPT_URL. A stored
 * redirect URL whose origin REDIRECT_ORIGINS no longer allows is passed over (the token is not
 * sent to an origin the operator has since withdrawn), as if the invitation had none.
 */
export function continueUrlFor(
  config: Config,
  row: Pick<InvitationRow, "redirectUrl">,
  token: string,
): string | undefined {
  const allowed = row.redirectUrl && redirectUrlProblem(config, row.redirectUrl) === undefined;
  const target = allowed ? row.redirectUrl : config.acceptUrl;
  return target ? inviteUrl(target, token) : undefined;
}

function factsOf(row: InvitationRow): InvitationFacts {
  return {
    organizationName: row.organizationName,
    inviterName: row.inviterName,
    role: row.role,
    email: row.email,
    expiresAt: row.expiresAt,
    acceptedAt: row.acceptedAt,
    revokedAt: row.revokedAt,
    declinedAt: row.declinedAt,
    publicDetails: publicDetails(row.publicMetadata),
  };
}

/** The page for the invitation `row` (undefined: no invitation has this link) opened at `now`. */
export function invitationPageView(
  row: InvitationRow | undefined,
  token: string,
  config: Config,
  now: number,
): InvitationPageView {
  if (!row) return { state: "unknown", status: 404 };
  const invitation = factsOf(row);
  const status = effectiveStatus(row, now);
  switch (status) {
    case "PENDING":
      return {
        state: "pending",
        status: 200,
        invitation,
        continueUrl: continueUrlFor(config, row, token),
        token,
      };
    case "ACCEPTED":
      return { state: "accepted", status: 409, invitation };
    case "EXPIRED":
      return { state: "expired", status: 410, invitation };
    case "REVOKED":
      return { state: "revoked", status: 410, invitation };
    case "DECLINED":
      return { state: "declined", status: 410, invitation };
    default:
      return status satisfies never;
  }
}

/** The answer to the decline form that turned `row` (now DECLINED) from pending. */
export function youDeclinedView(row: InvitationRow): InvitationPageView {
  return { state: "you_declined", status: 200, invitation: factsOf(row) };
}
