import { drizzle } from "drizzle-orm/d1";

/**
 * A Drizzle client over the D1 binding or one of its sessions: one per request or scheduled run.
 * Drizzle only calls `prepare` and `batch`, which a session has too; its type does not list
 * sessions yet. No `schema` is given: the service builds its queries with the query builder and
 * never uses the relational `db.query` API, and a schema makes `drizzle()` work out every table's
 * relations again on each call (measured: about 3% of a list or create request's CPU).
 */
export function createDb(d1: D1Database | D1DatabaseSession) {
  return drizzle(d1 as D1Database);
}

export type Db = ReturnType<typeof createDb>;
