import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/**
 * A Drizzle client over the D1 binding or one of its sessions. Cheap: create one per request or
 * scheduled run. Drizzle only calls `prepare` and `batch`, which a session has too; its type does
 * not list sessions yet.
 */
export function createDb(d1: D1Database | D1DatabaseSession) {
  return drizzle(d1 as D1Database, { schema });
}

export type Db = ReturnType<typeof createDb>;
