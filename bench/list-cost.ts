/**
 * What each kind of list request costs in D1 rows read, at 1,000 and 100,000 invitations (deep
 * pages by number and by cursor: page 500 of 100,000 is page 50, the last, of 1,000): one request
 * each through the bench Worker's measuring wrapper (bench/worker.ts). `npm run bench` reports it
 * on its own database; run alone (`npm run bench:list`), it seeds a fresh local D1 database under
 * .wrangler/list-cost as the bench seeds its own (bench/database.ts), measures what a create and a
 * revoke write too, and prints Markdown tables; about a minute, most of it seeding.
 */
import { auth, startBenchWorker } from "./bench-worker.ts";
import { freshDatabase, noiseSql, ORG, SIZES, seedSql } from "./database.ts";

const STATE = ".wrangler/list-cost";
const SIZE = { "1k": SIZES.small, "100k": SIZES.large } as const;
type Size = keyof typeof SIZE;
const ORGS: Record<Size, string> = { "1k": ORG.small, "100k": ORG.large };

/**
 * A request of the table: a query of the list; or, with `deep`, that page (limited to the last
 * one at 1k) by number, then the same page by the cursor the page before it hands out.
 */
type Row = { label: string; query: string; deep?: { page: number; limit: number } };

/** Filters measured at depth with a cursor, for every sort. */
const FILTERS = ["", "status=PENDING", "role=VIEWER", "invitedBy=seeder", "status=PENDING,REVOKED"];
const SORTS = ["-createdAt", "createdAt", "-expiresAt", "expiresAt", "-email", "email"];

const ROWS: Row[] = [
  { label: "page 1, no filter", query: "" },
  { label: "`status=PENDING` (all match)", query: "status=PENDING" },
  { label: "`invitedBy=seeder` (all match)", query: "invitedBy=seeder" },
  { label: "`role=VIEWER` (a third match)", query: "role=VIEWER" },
  { label: "`status=PENDING,REVOKED`", query: "status=PENDING,REVOKED" },
  { label: "`status=EXPIRED`, nothing expired", query: "status=EXPIRED" },
  { label: "`status=PENDING&role=VIEWER`", query: "status=PENDING&role=VIEWER" },
  {
    label: "`status=ACCEPTED,REVOKED&role=ORG_ADMIN,VIEWER`",
    query: "status=ACCEPTED,REVOKED&role=ORG_ADMIN,VIEWER",
  },
  { label: "`email=user5@...`", query: "email=user5@" },
  { label: "page 500, by number / by cursor", query: "", deep: { page: 500, limit: 20 } },
  { label: "page 2,500 (limit 40), by number / by cursor", query: "", deep: { page: 2500, limit: 40 } },
  { label: "page 1,000,000 (past the end)", query: "page=1000000" },
  { label: "`status=PENDING&page=1000000` (past the end)", query: "status=PENDING&page=1000000" },
  ...FILTERS.flatMap((filter) =>
    SORTS.map((sort) => ({
      label: `page 500 by number / by cursor: ${[filter, `sort=${sort}`].filter(Boolean).join("&")}`,
      query: [filter, `sort=${sort}`].filter(Boolean).join("&"),
      deep: { page: 500, limit: 20 },
    })),
  ),
];

type Measured = { status: number; rowsRead: number; rowsWritten: number; body: unknown };

/** One request as an admin of `org`, with what D1 reported for it. */
async function measured(base: string, org: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(await auth(org)),
      "x-bench-measure": "1",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const header = (name: string) => Number(res.headers.get(name) ?? Number.NaN);
  return {
    status: res.status,
    rowsRead: header("x-bench-rows-read"),
    rowsWritten: header("x-bench-rows-written"),
    body: await res.json(),
  } satisfies Measured;
}

/** The rows-read table of every list request above, at 1k and 100k, as Markdown lines. */
export async function listCostLines(base: string): Promise<string[]> {
  const list = (size: Size, query: string) =>
    measured(
      base,
      ORGS[size],
      "GET",
      `/api/v1/invitations?${query.replace("@", `@${ORGS[size].slice(0, 8)}.example.com`)}`,
    );
  const figure = (m: Measured | undefined) =>
    m === undefined ? "-" : m.status === 200 ? m.rowsRead.toLocaleString("en") : `HTTP ${m.status}`;
  const cell = async (size: Size, row: Row): Promise<string> => {
    if (!row.deep) return figure(await list(size, row.query));
    // "-": no cursor.
    const { limit } = row.deep;
    const deep = Math.min(row.deep.page, SIZE[size] / limit);
    const query = `${row.query}&limit=${limit}`;
    const offset = await list(size, `${query}&page=${deep}`);
    const { body } = await list(size, `${query}&page=${deep - 1}`);
    const cursor = (body as { meta?: { nextCursor?: string | null } }).meta?.nextCursor;
    const byCursor =
      typeof cursor === "string"
        ? await list(size, `${query}&cursor=${encodeURIComponent(cursor)}`)
        : undefined;
    return `${figure(offset)} / ${figure(byCursor)}`;
  };
  const lines = ["| list request (limit 20 unless said): rows read | 1k | 100k |", "|---|---:|---:|"];
  for (const row of ROWS) {
    lines.push(`| ${row.label} | ${await cell("1k", row)} | ${await cell("100k", row)} |`);
  }
  return [...lines, ""];
}

async function main() {
  process.stderr.write(`Seeding ${STATE} ...\n`);
  await freshDatabase(STATE, [seedSql(ORG.small, SIZES.small), seedSql(ORG.large, SIZES.large), noiseSql()]);
  const dev = await startBenchWorker(STATE);
  try {
    const lines = await listCostLines(dev.base);
    // Writes, in an organization of their own: what the counters and indexes cost.
    const org = ORG.create;
    const created = await measured(dev.base, org, "POST", "/api/v1/invitations", {
      email: "cost@example.com",
    });
    const id = (created.body as { id: string }).id;
    const revoked = await measured(dev.base, org, "DELETE", `/api/v1/invitations/${id}`);
    lines.push("| write | rows read | rows written |", "|---|---:|---:|");
    lines.push(`| create | ${created.rowsRead} | ${created.rowsWritten} |`);
    lines.push(`| revoke | ${revoked.rowsRead} | ${revoked.rowsWritten} |`);
    console.log(lines.join("\n"));
  } finally {
    await dev.stop();
  }
}

// Run alone (npm run bench:list), not when npm run bench imports the table.
if (import.meta.main) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
