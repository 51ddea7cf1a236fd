// A stand-in for the platform's send_email binding (Cloudflare Email Service), for the tests. The
// Worker under test gets `EmailBinding` as env.EMAIL (a service binding to this entrypoint) and
// calls `send` as it calls the real one; tests get `Outbox` (env.TEST_OUTBOX) to read what reached
// the binding and to make the next sends to an address fail. It enforces what the Email Service
// documents (addresses, 1 to 50 recipients, a subject of at most 998 characters on one line, no
// CR or LF in display names, text or HTML present) and throws as it does: an Error with a string
// `code`. Plain JavaScript: auxiliary Workers are not bundled. Module state is shared by both
// entrypoints and by every test file of a run, so tests key what they read by recipient.
import { WorkerEntrypoint } from "cloudflare:workers";

const sent = [];
const failures = [];
let counter = 0;

const CRLF = /[\r\n]/;
const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+$/;

function refusal(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

const address = (value) => (typeof value === "string" ? { email: value } : value);
const recipients = (message) => [message.to].flat().filter(Boolean).map(address);

export class EmailBinding extends WorkerEntrypoint {
  async send(message) {
    if (typeof message !== "object" || message === null) throw refusal("E_VALIDATION_ERROR", "not a message");
    const from = address(message.from);
    const to = recipients(message);
    if (!from?.email || !ADDRESS.test(from.email)) throw refusal("E_VALIDATION_ERROR", "invalid from");
    if (to.length === 0 || to.length > 50) throw refusal("E_TOO_MANY_RECIPIENTS", "1 to 50 recipients");
    for (const r of to) if (!ADDRESS.test(r.email)) throw refusal("E_VALIDATION_ERROR", "invalid to");
    for (const name of [from.name, ...to.map((r) => r.name)]) {
      if (name !== undefined && CRLF.test(name))
        throw refusal("E_VALIDATION_ERROR", "CR/LF in a display name");
    }
    if (typeof message.subject !== "string" || message.subject.length === 0)
      throw refusal("E_FIELD_MISSING", "subject");
    if (CRLF.test(message.subject)) throw refusal("E_VALIDATION_ERROR", "CR/LF in subject");
    if (message.subject.length > 998) throw refusal("E_VALIDATION_ERROR", "subject over 998 characters");
    if (!message.text && !message.html) throw refusal("E_FIELD_MISSING", "text or html");
    const failure = failures.find((f) => f.times > 0 && to.some((r) => r.email === f.to));
    if (failure) {
      failure.times--;
      throw refusal(failure.code, failure.message);
    }
    const messageId = `<double-${++counter}@${from.email.split("@")[1]}>`;
    sent.push({ ...message, messageId, at: Date.now() });
    return { messageId };
  }
}

export class Outbox extends WorkerEntrypoint {
  /** What reached the binding for `to` (everything when omitted), oldest first. */
  sent(to) {
    return sent.filter((m) => to === undefined || recipients(m).some((r) => r.email === to));
  }
  /** The next `times` sends to `to` throw an Error with `code` (by default one a retry may fix). */
  failNext(
    to,
    times = 1,
    code = "E_INTERNAL_SERVER_ERROR",
    message = "Email Service temporarily unavailable",
  ) {
    failures.push({ to, times, code, message });
  }
}

export default { fetch: () => new Response(null, { status: 404 }) };
