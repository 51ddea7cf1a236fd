/**
 * What an invitation takes in D1's storage, measured on the bench's local database (a SQLite file,
 * as D1 keeps it) right after seeding: every table and index from SQLite's own `dbstat`, then bytes
 * per invitation (the invitations table, its indexes and the list's counters) and per outbox event
 * (kept until published and past its retention). Read with Node's SQLite while no Worker runs.
 */
import { readdirSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";

export type Storage = {
  invitations: number;
  events: number;
  pageSize: number;
  /** The whole file: page_count * page_size. */
  bytes: number;
  /** Each table and index, largest first. */
  objects: { name: string; table: string; bytes: number }[];
  bytesPerInvitation: number;
  bytesPerEvent: number;
};

/** The invitations table and what grows with it row for row (its indexes, the list's counters). */
const PER_INVITATION = new Set([
  "invitations",
  "organization_invitation_counts",
  "invitation_counts",
  "inviter_invitation_counts",
]);

/** The local D1 database's file under `state` (Miniflare keeps one per database, beside metadata.sqlite). */
function databaseFile(state: string): string {
  const folder = `${state}/v3/d1/miniflare-D1DatabaseObject`;
  const file = readdirSync(folder).find((name) => name.endsWith(".sqlite") && name !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database in ${folder}`);
  return `${folder}/${file}`;
}

export function measureStorage(state: string): Storage {
  const db = new DatabaseSync(databaseFile(state), { readOnly: true });
  try {
    const one = (sql: string) => Number(Object.values(db.prepare(sql).get() ?? {})[0]);
    const pageSize = one("PRAGMA page_size");
    const objects = (
      db
        .prepare(
          `SELECT s.name AS name, coalesce(m.tbl_name, s.name) AS tbl, sum(s.pgsize) AS bytes
           FROM dbstat s LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY s.name ORDER BY bytes DESC`,
        )
        .all() as { name: string; tbl: string; bytes: number }[]
    ).map(({ name, tbl, bytes }) => ({ name, table: tbl, bytes: Number(bytes) }));
    const invitations = one("SELECT count(*) FROM invitations");
    const events = one("SELECT count(*) FROM invitation_events");
    const bytesOf = (tables: (table: string) => boolean) =>
      objects.filter((o) => tables(o.table)).reduce((n, o) => n + o.bytes, 0);
    return {
      invitations,
      events,
      pageSize,
      bytes: one("PRAGMA page_count") * pageSize,
      objects,
      bytesPerInvitation: bytesOf((table) => PER_INVITATION.has(table)) / invitations,
      bytesPerEvent: bytesOf((table) => table === "invitation_events") / Math.max(events, 1),
    };
  } finally {
    db.close();
  }
}

export function storageLines(s: Storage): string[] {
  const kib = (bytes: number) => (bytes / 1024).toLocaleString("en", { maximumFractionDigits: 0 });
  return [
    `Storage (SQLite's dbstat on the seeded database: ${s.invitations.toLocaleString("en")} invitations, ${s.events.toLocaleString("en")} outbox events, ${kib(s.bytes)} KiB in all): **${Math.round(s.bytesPerInvitation)} bytes per invitation** (its row, its indexes, the counters), ${Math.round(s.bytesPerEvent)} bytes per outbox event.`,
    "",
    "| table or index | KiB | bytes per invitation |",
    "|---|---:|---:|",
    ...s.objects
      .filter((o) => o.bytes >= 64 * 1024)
      .map((o) => `| ${o.name} | ${kib(o.bytes)} | ${(o.bytes / s.invitations).toFixed(1)} |`),
    "",
  ];
}
