import { DrizzleD1Database } from "drizzle-orm/d1";
import { SQLiteD1Session } from "drizzle-orm/d1/session";
import type { Db } from "../env";
import { TemplateSqliteDialect } from "./compile";

const dialect = new TemplateSqliteDialect();

/**
 * A drizzle client over a D1 binding or a D1 session (`env.DB.withSession(…)`). Every request
 * gets one over its own session, so it is kept to the query builders: without the relational
 * schema, drizzle() would build a relational query builder per table on every request, and
 * nothing here uses `db.query` (the select builders say the same).
 */
export function dbOver(client: D1Database | D1DatabaseSession): Db {
  const session = new SQLiteD1Session(client as D1Database, dialect, undefined, {});
  const db = new DrizzleD1Database("async", dialect, session as never, undefined) as unknown as Db;
  db.$client = client;
  return db;
}
