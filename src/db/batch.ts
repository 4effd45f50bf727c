import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { Db } from "../env";

interface PreparedLike {
  getQuery(): { sql: string; params: unknown[] };
  mapResult(result: unknown, isFromBatch: boolean): unknown;
  stmt?: D1PreparedStatement;
}

/**
 * `db.batch()` that also takes raw `db.all(sql…)` / `db.get(sql…)` statements with parameters
 * (drizzle 0.45's D1 batch binds those through a statement they do not have). One D1 round
 * trip, one transaction, results mapped exactly as drizzle maps them.
 */
export async function batch<U extends BatchItem<"sqlite">, T extends Readonly<[U, ...U[]]>>(
  db: Db,
  queries: T,
): Promise<BatchResponse<T>> {
  const client = db.$client as D1Database;
  const prepared = queries.map((q) => (q as unknown as { _prepare(): PreparedLike })._prepare());
  const statements = prepared.map((p) => {
    const { sql, params } = p.getQuery();
    return client.prepare(sql).bind(...params);
  });
  const results = await client.batch(statements);
  return results.map((r, i) => prepared[i]!.mapResult(r, true)) as BatchResponse<T>;
}
