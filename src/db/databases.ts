/**
 * Which D1 database holds an organization's invitations: the seam for growing past one database
 * (docs/scaling.md). Today every organization lives in `DB`, whatever `organizationId` says. To
 * shard, add bindings (`DB_0` ... `DB_n`, or one per large tenant) and map the organization to one
 * here (a hash of its id, or a directory lookup); every query the service runs gets its database
 * from this function, so nothing else chooses a binding. Work that spans organizations (the cron
 * sweep, the publisher, the consumers) and requests that do not know the organization before they
 * read (a link token's preview and accept) call it without one; with more than one database they
 * would visit each in turn, or find the organization first (docs/scaling.md says how).
 */
export function databaseFor(env: Env, _organizationId?: string): D1Database {
  return env.DB;
}
