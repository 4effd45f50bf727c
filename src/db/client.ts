import { DrizzleD1Database } from "drizzle-orm/d1";
import { SQLiteD1Session } from "drizzle-orm/d1/session";
import { createTableRelationsHelpers, extractTablesRelationalConfig } from "drizzle-orm/relations";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import * as schema from "./schema";
import type { Db } from "../env";

// What drizzle() derives from the schema on every call, derived once per isolate instead.
const dialect = new SQLiteAsyncDialect();
const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
const relational = { fullSchema: schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };

/**
 * A drizzle client over a D1 binding or a D1 session (`env.DB.withSession(…)`). Requests get one
 * over their own session; building it costs a few small objects (the schema analysis that
 * `drizzle()` repeats each time is done once above), so a client per request is cheap.
 */
export function dbOver(client: D1Database | D1DatabaseSession): Db {
  const session = new SQLiteD1Session(client as D1Database, dialect, relational, {});
  const db = new DrizzleD1Database("async", dialect, session as never, relational as never) as unknown as Db;
  db.$client = client;
  return db;
}
