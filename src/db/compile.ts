import { Name, Placeholder, SQL, StringChunk, type Query } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";

/**
 * The SQLite text and parameters of a statement written with `sql` templates only: strings,
 * `sql.raw`, `sql.join`, `sql.identifier`, placeholders, plain values and arrays of them, nested
 * to any depth. Anything else (columns, tables, subqueries of the query builders, encoded params,
 * inlined params) returns undefined, and drizzle builds that statement itself.
 *
 * Why: the guards of a write and the user reads are SQL templates of a few hundred fragments, and
 * drizzle's general builder (an entity check per kind per fragment, a query object merged per
 * fragment, a tracing span) took a fifth of the worker's CPU profile of a create. This walk
 * gives the same text and parameters (test/sql-compile.test.ts compares the two).
 */
export function compileTemplate(root: SQL): Query | undefined {
  const out = { sql: "", params: [] as unknown[] };
  return appendChunks(root, out) ? out : undefined;
}

function appendChunks(node: SQL, out: Query): boolean {
  // `.inlineParams()` writes values into the text: drizzle's own escaping does that.
  if ((node as unknown as { shouldInlineParams: boolean }).shouldInlineParams) return false;
  for (const chunk of node.queryChunks) {
    if (!appendChunk(chunk, out)) return false;
  }
  return true;
}

function appendChunk(chunk: unknown, out: Query): boolean {
  if (chunk === undefined) return true;
  if (chunk === null || typeof chunk !== "object") {
    out.sql += "?";
    out.params.push(chunk);
    return true;
  }
  const kind = chunk.constructor;
  if (kind === StringChunk) {
    out.sql += (chunk as StringChunk).value.join("");
    return true;
  }
  if (kind === SQL) return appendChunks(chunk as SQL, out);
  if (kind === Name) {
    out.sql += `"${(chunk as Name).value.replace(/"/g, '""')}"`;
    return true;
  }
  if (kind === Placeholder) {
    out.sql += "?";
    out.params.push(chunk);
    return true;
  }
  if (Array.isArray(chunk)) {
    out.sql += "(";
    for (let i = 0; i < chunk.length; i++) {
      if (i > 0) out.sql += ", ";
      if (!appendChunk(chunk[i], out)) return false;
    }
    out.sql += ")";
    return true;
  }
  // Blobs are values; any other object is something only drizzle knows how to write.
  if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) {
    out.sql += "?";
    out.params.push(chunk);
    return true;
  }
  return false;
}

/** drizzle's SQLite dialect, with statements of templates only written by `compileTemplate`. */
export class TemplateSqliteDialect extends SQLiteAsyncDialect {
  override sqlToQuery(statement: SQL, invokeSource?: "indexes"): ReturnType<SQLiteAsyncDialect["sqlToQuery"]> {
    return (invokeSource === undefined && compileTemplate(statement)) || super.sqlToQuery(statement, invokeSource);
  }
}
