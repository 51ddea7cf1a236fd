import type { Child } from "hono/jsx";
import { invitedInWords, inWords, organizationInWords, ROLE_WORDS } from "../invitations/invitation-words";
import { DECLINE_PATH, type InvitationFacts, type InvitationPageView } from "./invitation-page.view";
import { Layout } from "./layout";

/*
 * The invitation page, drawn from its view (invitation-page.view.ts). Every value a caller
 * supplied (the names, the address) is a JSX text child, which hono/jsx escapes.
 */

/** A point in time, readable and machine-readable. */
function Time({ at }: { at: number }) {
  return <time datetime={new Date(at).toISOString()}>{inWords(at)}</time>;
}

/** " on <date>" after a past event, or nothing when its time is not known. */
function On({ at }: { at: number | null }) {
  return at === null ? (
    ""
  ) : (
    <>
      {" "}
      on <Time at={at} />
    </>
  );
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

/**
 * The public metadata, under a heading of its own: the organization wrote these labels and values,
 * so they stand apart from the page's facts (a key named "Role" cannot pass for the real one).
 * Bidirectional text is isolated, so a value cannot reorder what is around it.
 */
function PublicDetails({ invitation }: { invitation: InvitationFacts }) {
  if (invitation.publicDetails.length === 0) return null;
  return (
    <section aria-labelledby="public-details">
      <h2 id="public-details">Details from {invitation.organizationName ?? "the organization"}</h2>
      <dl>
        {invitation.publicDetails.map(({ label, text }) => (
          <div>
            <dt>
              <bdi>{label}</bdi>
            </dt>
            <dd>
              <bdi>{text}</bdi>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** The organization as these sentences name it. */
const named = (invitation: InvitationFacts) =>
  organizationInWords(invitation.organizationName, invitation.inviterName);

/** Who to ask, in words: the inviter by name, or the person who sent it. */
const askWhom = (invitation: InvitationFacts) => invitation.inviterName ?? "the person who invited you";

/**
 * Decline: a plain form that posts the link's token back to this Worker (no script, so it works
 * with JavaScript off). Only a POST declines: opening a page never changes anything.
 */
function DeclineForm({ token }: { token: string }) {
  return (
    <form method="post" action={DECLINE_PATH}>
      <input type="hidden" name="token" value={token} />
      <button type="submit" class="button secondary" aria-describedby="decline-hint">
        Decline
      </button>
    </form>
  );
}

function Pending({
  invitation,
  continueUrl,
  token,
}: {
  invitation: InvitationFacts;
  continueUrl: string | undefined;
  token: string;
}) {
  return (
    <>
      <h1>
        {invitedInWords(invitation.inviterName)} to join {named(invitation)}
      </h1>
      <p>You are invited as {ROLE_WORDS[invitation.role].inSentence}. Nothing happens until you accept.</p>
      <Details invitation={invitation} />
      <PublicDetails invitation={invitation} />
      {continueUrl === undefined && (
        <p>
          This invitation cannot be accepted from this page: no sign-in page is set up for it. Ask{" "}
          {askWhom(invitation)} how to join; the invitation stays open until{" "}
          <Time at={invitation.expiresAt} />.
        </p>
      )}
      <div class="actions">
        {continueUrl !== undefined && (
          <a class="button" href={continueUrl} rel="noreferrer" aria-describedby="continue-hint">
            Continue
          </a>
        )}
        <DeclineForm token={token} />
      </div>
      {continueUrl !== undefined && (
        <p class="muted" id="continue-hint">
          You will sign in as {invitation.email} to accept the invitation.
        </p>
      )}
      <p class="muted" id="decline-hint">
        Declining is final: the link stops working, and {named(invitation)} can see that you said no.
      </p>
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
        body: <Pending invitation={view.invitation} continueUrl={view.continueUrl} token={view.token} />,
      };
    case "accepted":
      return message(
        "This invitation has already been accepted",
        <>
          The invitation to join {named(view.invitation)} was accepted
          <On at={view.invitation.acceptedAt} />, so this link cannot be used again. If you accepted it, sign
          in to the organization's app as usual.
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
    case "declined":
      return message(
        "This invitation has been declined",
        <>
          The invitation to join {named(view.invitation)} was declined
          <On at={view.invitation.declinedAt} />, so this link no longer works. If you change your mind, ask{" "}
          {askWhom(view.invitation)} to invite you again.
        </>,
      );
    case "you_declined":
      return message(
        "You declined the invitation",
        <>
          You declined the invitation to join {named(view.invitation)}, and this link no longer works. Nothing
          else is needed; you can close this page. If you change your mind, ask {askWhom(view.invitation)} to
          invite you again.
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
    case "too_large":
      return message(
        "This request is too large",
        "The form sent more than this page accepts. Open the link in your invitation email again.",
      );
    case "rate_limited":
      return message(
        "Too many requests",
        "This page was asked for too many times in a short while. Wait a minute, then try again.",
      );
    case "error":
      return message(
        "Something went wrong",
        "The invitation could not be shown just now. Wait a few minutes, then open the link in your invitation email again.",
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
