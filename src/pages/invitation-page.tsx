import type { Child } from "hono/jsx";
import { invitedInWords, inWords, organizationInWords, ROLE_WORDS } from "../invitations/invitation-words";
import type { InvitationFacts, InvitationPageView } from "./invitation-page.view";
import { Layout } from "./layout";

/*
 * The invitation page, drawn from its view (invitation-page.view.ts). Every value a caller
 * supplied (the names, the address) is a JSX text child, which hono/jsx escapes.
 */

/** A point in time, readable and machine-readable. */
function Time({ at }: { at: number }) {
  return <time datetime={new Date(at).toISOString()}>{inWords(at)}</time>;
}

/** The facts of a live invitation, as label and value pairs; what is not known is left out. */
function Details({ invitation }: { invitation: InvitationFacts }) {
  const rows: [string, Child][] = [
    ["Organization", invitation.organizationName],
    ["Role", ROLE_WORDS[invitation.role].label],
    ["Invited by", invitation.inviterName],
    ["Sent to", invitation.email],
    ["Expires", <Time at={invitation.expiresAt} />],
  ];
  return (
    <dl>
      {rows
        .filter(([, value]) => value !== null)
        .map(([label, value]) => (
          <div>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

/** The organization as these sentences name it. */
const named = (invitation: InvitationFacts) =>
  organizationInWords(invitation.organizationName, invitation.inviterName);

/** Who to ask, in words: the inviter by name, or the person who sent it. */
const askWhom = (invitation: InvitationFacts) => invitation.inviterName ?? "the person who invited you";

function Pending({
  invitation,
  continueUrl,
}: {
  invitation: InvitationFacts;
  continueUrl: string | undefined;
}) {
  return (
    <>
      <h1>
        {invitedInWords(invitation.inviterName)} to join {named(invitation)}
      </h1>
      <p>You are invited as {ROLE_WORDS[invitation.role].inSentence}. Nothing happens until you accept.</p>
      <Details invitation={invitation} />
      {continueUrl === undefined ? (
        <p>
          This invitation cannot be accepted from this page: no sign-in page is set up for it. Ask{" "}
          {askWhom(invitation)} how to join; the invitation stays open until{" "}
          <Time at={invitation.expiresAt} />.
        </p>
      ) : (
        <>
          <p class="actions">
            <a class="button" href={continueUrl} rel="noreferrer" aria-describedby="continue-hint">
              Continue
            </a>
          </p>
          <p class="muted" id="continue-hint">
            You will sign in as {invitation.email} to accept the invitation.
          </p>
        </>
      )}
      <p class="muted">If you were not expecting this invitation, you can ignore it.</p>
    </>
  );
}

/** Title, heading and sentences of each state. */
function content(view: InvitationPageView): { title: string; body: Child } {
  switch (view.state) {
    case "pending":
      return {
        title: `Invitation to join ${named(view.invitation)}`,
        body: <Pending invitation={view.invitation} continueUrl={view.continueUrl} />,
      };
    case "accepted":
      return message(
        "This invitation has already been accepted",
        <>
          The invitation to join {named(view.invitation)} was accepted
          {view.invitation.acceptedAt === null ? (
            ""
          ) : (
            <>
              {" "}
              on <Time at={view.invitation.acceptedAt} />
            </>
          )}
          , so this link cannot be used again. If you accepted it, sign in to the organization's app as usual.
        </>,
      );
    case "expired":
      return message(
        "This invitation has expired",
        <>
          The invitation to join {named(view.invitation)} expired on <Time at={view.invitation.expiresAt} />.
          Ask {askWhom(view.invitation)} to send you a new one.
        </>,
      );
    case "revoked":
      return message(
        "This invitation has been withdrawn",
        <>
          The invitation to join {named(view.invitation)} was revoked, so this link no longer works. If you
          think this is a mistake, contact {askWhom(view.invitation)}.
        </>,
      );
    case "unknown":
      return message(
        "This invitation link is not valid",
        "It may have been replaced: when an invitation is sent again, only the newest email's link works. Open the link in your latest invitation email, or ask the person who invited you to send it again.",
      );
    case "malformed":
      return message(
        "This invitation link is incomplete",
        "Part of the link is missing, perhaps because it was split across two lines. Open it straight from the invitation email, or copy the whole link into the address bar.",
      );
    case "rate_limited":
      return message(
        "Too many requests",
        "This page was opened too many times in a short while. Wait a minute, then reload it.",
      );
    case "error":
      return message(
        "Something went wrong",
        "The invitation could not be shown just now. Reload the page in a few minutes.",
      );
    default:
      return view satisfies never;
  }
}

function message(heading: string, text: Child): { title: string; body: Child } {
  return {
    title: heading,
    body: (
      <>
        <h1>{heading}</h1>
        <p>{text}</p>
      </>
    ),
  };
}

/** The whole page for `view`. */
export function InvitationPage({ view }: { view: InvitationPageView }) {
  const { title, body } = content(view);
  return <Layout title={title}>{body}</Layout>;
}
