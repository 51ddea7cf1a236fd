import { type SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

export type BatchLimits = { batchSize?: number; maxBatches?: number };

/**
 * Deletes the rows of `table` matching `where`, at most `batchSize` per statement and
 * `maxBatches` statements per call (the cron's clean-ups: bounded, whatever the backlog, since D1
 * runs one statement at a time and a run has a budget of queries). Returns how many it deleted.
 * The tables it serves have no triggers, so D1's `changes` counts exactly the rows deleted.
 */
export async function deleteInBatches(
  db: Db,
  table: SQLiteTable,
  where: SQL,
  { batchSize = 1000, maxBatches = 5 }: BatchLimits = {},
): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const { meta } = await db.run(
      sql`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT ${batchSize})`,
    );
    deleted += meta.changes;
    if (meta.changes < batchSize) break;
  }
  return deleted;
}
