/*
 * Where this service may send a browser with an invitation's token in the URL: over https, so the
 * token is never readable on the way; plain http only to this machine (local development).
 */

/** Host names that only ever reach the machine itself. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** True for an absolute https URL, or an http one on localhost, 127.0.0.1 or [::1]. */
export function isHttpsOrLocal(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { protocol, hostname } = new URL(url);
  return protocol === "https:" || (protocol === "http:" && LOCAL_HOSTS.has(hostname));
}
