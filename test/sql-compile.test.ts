import { describe, expect, it } from "vitest";
import { eq, sql, type SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { compileTemplate, TemplateSqliteDialect } from "../src/db/compile";
import { users } from "../src/db/schema";
import { liveSessionFrom, rolesOfUser } from "../src/auth/repo";
import { jsonArrayOf, missingPermissions } from "../src/auth/guards";
import { roleGrantChecks, rowsOf } from "../src/roles/guards";
import { userHolds, visibleUserSql, type Viewer } from "../src/users/repo";
import { newUser } from "../src/users/create";

const drizzles = new SQLiteAsyncDialect();
const drizzleQuery = (s: SQL) => {
  const { sql: text, params } = drizzles.sqlToQuery(s);
  return { sql: text, params };
};

const viewers: Viewer[] = [
  { tenantId: "ten_1", userId: "usr_1", tenantWide: true, includeManaged: true, includeShared: true },
  { tenantId: "ten_1", userId: "usr_1", tenantWide: false, includeManaged: false, includeShared: true },
  { tenantId: "ten_1", userId: null, tenantWide: userHolds("ten_1", "usr_1", "users:read"), includeManaged: true, includeShared: false },
];

/** Statements as the app builds them: reads, guards, the one-statement create. */
function appStatements(): SQL[] {
  const creation = newUser("ten_1", { email: "a@example.com", first_name: "A", metadata: { k: [1, "x"] } }, null, ["admin", "member"], {
    kind: "user",
    id: "usr_1",
  }).creation;
  const columns = Object.keys(creation.values);
  return [
    sql`SELECT u.id, ${rolesOfUser} AS roles ${liveSessionFrom("ten_1", "usr_1", "ses_1", "2026-12-01T00:00:00.000Z")}`,
    ...viewers.map((v) => visibleUserSql(v, "usr_2")),
    ...roleGrantChecks("ten_1", ["admin", "owner"]).flatMap((ch) => [ch.refuses as SQL, ch.evidence!]),
    ...roleGrantChecks("ten_1", ["custom", "member"]).flatMap((ch) => [ch.refuses as SQL, ch.evidence!]),
    jsonArrayOf(missingPermissions(rowsOf(["users:read", "users:write"]))),
    sql`INSERT INTO ${sql.identifier(creation.into)} (failure, ${sql.raw(columns.join(", "))})
      SELECT NULL, ${sql.join(columns.map((k) => sql`${creation.values[k]}`), sql`, `)}`,
  ];
}

describe("compileTemplate", () => {
  it("writes the app's statements exactly as drizzle does, text and parameters", () => {
    const statements = appStatements();
    expect(statements.length).toBeGreaterThan(8);
    for (const s of statements) expect(compileTemplate(s)).toEqual(drizzleQuery(s));
  });

  it("writes every kind of template fragment as drizzle does", () => {
    const blob = new Uint8Array([1, 2, 3]);
    const cases: SQL[] = [
      sql``,
      sql`SELECT 1`,
      sql`SELECT ${1}, ${"two"}, ${null}, ${true}, ${2.5}, ${undefined} AS nothing`,
      sql`SELECT * FROM ${sql.identifier('we"ird')} WHERE x IN ${["a", "b", sql`lower(${"C"})`]}`,
      sql`SELECT ${blob}`,
      sql.join([sql`a = ${1}`, sql.raw("b = 2"), sql`c = ${sql`${3} + ${sql.raw("4")}`}`], sql` AND `),
      sql.join([sql`x`, sql`y`]),
      sql`${sql.empty()}${sql.placeholder("p")} = ${sql`${sql.placeholder("q")}`}`,
      sql`${sql`${sql`${sql`deep ${"value"}`}`}`}`,
    ];
    for (const s of cases) expect(compileTemplate(s)).toEqual(drizzleQuery(s));
  });

  it("leaves columns, tables, encoded and inlined params to drizzle, which then writes them", () => {
    const dialect = new TemplateSqliteDialect();
    const others: SQL[] = [
      sql`SELECT ${users.id} FROM ${users}`,
      sql`SELECT 1 WHERE ${eq(users.email, "a@example.com")}`,
      sql`SELECT ${"inlined"}`.inlineParams(),
      sql`SELECT ${{ an: "object" }}`,
    ];
    for (const s of others) {
      expect(compileTemplate(s)).toBeUndefined();
      expect(dialect.sqlToQuery(s)).toEqual(drizzles.sqlToQuery(s));
    }
    // A template statement goes the fast way through the dialect too, with the same answer.
    const template = appStatements()[0]!;
    expect(dialect.sqlToQuery(template)).toEqual(drizzleQuery(template));
  });
});
