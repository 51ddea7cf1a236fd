/**
 * What an invocation asked of D1: calls (subrequests, which the platform limits per invocation; a
 * batch is one), statements run (a batch counts each of its own), and, summed from the `meta` D1
 * returns with every statement's result, rows read and rows written: D1's billing units.
 */
export type D1Cost = { calls: number; queries: number; rowsRead: number; rowsWritten: number };

export const noCost = (): D1Cost => ({ calls: 0, queries: 0, rowsRead: 0, rowsWritten: 0 });

/** The figures as a log line carries them, flat, so Workers Logs can sum and filter each. */
export const costFields = (cost: D1Cost) => ({
  d1Calls: cost.calls,
  d1Queries: cost.queries,
  d1RowsRead: cost.rowsRead,
  d1RowsWritten: cost.rowsWritten,
});

function add(cost: D1Cost, meta: D1Meta | undefined): void {
  cost.queries += 1;
  cost.rowsRead += meta?.rows_read ?? 0;
  cost.rowsWritten += meta?.rows_written ?? 0;
}

/** The statements this module made, to the binding's own ones that `batch` must be given. */
const inner = new WeakMap<object, D1PreparedStatement>();

/**
 * A prepared statement that adds each run's `meta` to `cost`. `first` and `raw` return no meta in
 * D1's API, so they run as `all` and return what those would have: the first row (or a column of
 * it), or each row's values in column order (the mapping Drizzle applies to a batch's rows; no
 * query of this service names a column twice, which that mapping could not tell apart).
 */
class CountedStatement {
  constructor(
    private readonly statement: D1PreparedStatement,
    private readonly cost: D1Cost,
  ) {
    inner.set(this, statement);
  }

  bind(...values: unknown[]): D1PreparedStatement {
    return counted(this.statement.bind(...values), this.cost);
  }

  async all<T>(): Promise<D1Result<T>> {
    const result = await this.statement.all<T>();
    this.cost.calls += 1;
    add(this.cost, result.meta);
    return result;
  }

  async run<T>(): Promise<D1Result<T>> {
    const result = await this.statement.run<T>();
    this.cost.calls += 1;
    add(this.cost, result.meta);
    return result;
  }

  async first<T>(column?: string): Promise<T | null> {
    const [row] = (await this.all<Record<string, unknown>>()).results;
    if (row === undefined) return null;
    return (column === undefined ? row : row[column]) as T;
  }

  async raw<T>(options?: { columnNames?: boolean }): Promise<T[]> {
    const { results } = await this.all<Record<string, unknown>>();
    const rows = results.map((row) => Object.values(row));
    const names = results[0] ? Object.keys(results[0]) : [];
    return (options?.columnNames ? [names, ...rows] : rows) as T[];
  }
}

const counted = (statement: D1PreparedStatement, cost: D1Cost) =>
  new CountedStatement(statement, cost) as unknown as D1PreparedStatement;

/**
 * The D1 binding, or one of its sessions, adding the cost of everything run through it to
 * `cost`: `prepare`d statements however they are run, `batch`es statement by statement, and the
 * sessions it opens. What Drizzle calls (`prepare`, `bind`, `all`, `run`, `raw`, `batch`) and
 * what the app calls directly all pass here, so one wrapper at the boundary counts a whole
 * invocation. `exec` (no meta per statement; unused by the service) is counted as one query.
 */
export function countD1<T extends D1Database | D1DatabaseSession>(db: T, cost: D1Cost): T {
  const wrapper = {
    prepare: (sql: string) => counted(db.prepare(sql), cost),
    async batch<R>(statements: D1PreparedStatement[]) {
      const results = await db.batch<R>(statements.map((s) => inner.get(s) ?? s));
      cost.calls += 1;
      for (const result of results) add(cost, result.meta);
      return results;
    },
    withSession: (constraint?: string) => countD1((db as D1Database).withSession(constraint), cost),
    getBookmark: () => (db as D1DatabaseSession).getBookmark(),
    async exec(sql: string) {
      const result = await (db as D1Database).exec(sql);
      cost.calls += 1;
      add(cost, undefined);
      return result;
    },
    dump: () => (db as D1Database & { dump(): Promise<ArrayBuffer> }).dump(),
  };
  return wrapper as unknown as T;
}
