import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { call, createTenant, createUser, PLATFORM_KEY, userWithToken } from "./helpers";
import { watchD1 } from "./d1-counter";

/**
 * EXPLAIN QUERY PLAN over the SQL the app really sends. Each request runs through the app with a
 * D1 binding that records every statement it prepares (with its bound values); each recorded
 * statement is then explained against the same database. A list or lookup that reads a table
 * without an index, or through an index that does not start with the tenant, fails here.
 */
interface Issued {
  sql: string;
  params: unknown[];
}

/** A D1 binding that records every statement it is given with its parameters (batches included). */
function recordingD1(db: D1Database) {
  const issued: Issued[] = [];
  const recording = watchD1(db, {
    prepare: (sql) => issued.push({ sql, params: [] }),
    bind: (sql, params) => issued.push({ sql, params }),
  });
  return { db: recording, issued };
}

const app = createApp();
const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

interface Explained {
  sql: string;
  plan: string[];
}

/** Sends one request with a recording D1 binding; returns the explained plan of each read. */
async function explainRequest(method: string, path: string, opts: { token: string; tenant?: string; body?: unknown }) {
  const { db, issued } = recordingD1(env.DB);
  const headers: Record<string, string> = { Authorization: `Bearer ${opts.token}` };
  if (opts.tenant) headers["X-Tenant"] = opts.tenant;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await app.fetch(
    new Request(`http://userplane.test${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) }),
    { ...env, DB: db },
    ctx,
  );
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  const explained: Explained[] = [];
  // A statement with its values appears twice (prepare, then bind): the last of each SQL is kept.
  const bySql = new Map(issued.map((s) => [s.sql, s.params]));
  for (const [sql, params] of bySql) {
    if (!/^\s*(select|with|update|delete|insert)\b/i.test(sql)) continue;
    const rows = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...params)
      .all<{ detail: string }>();
    explained.push({ sql: sql.replace(/\s+/g, " ").trim(), plan: rows.results.map((r) => r.detail) });
  }
  return { res, explained };
}

/** Tables whose rows belong to a tenant: every read of them must start from the tenant. */
const TENANT_TABLES = ["users", "sessions", "user_roles", "roles", "shares", "api_keys", "events", "refresh_tokens"];
/** Unique, unguessable keys that identify one row across tenants (the row then names its tenant). */
const GLOBAL_KEYS = /^\((id|hash|rowid)=\?\)$/;

function aliasesOf(sql: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const m of sql.matchAll(/\b(?:from|join)\s+([a-z_]+)(?:\s+(?:as\s+)?([a-z_]+))?/gi)) {
    const table = m[1]!.toLowerCase();
    const alias = m[2] && !/^(on|where|join|left|inner|cross|group|order|limit|using|set)$/i.test(m[2]) ? m[2] : table;
    map.set(alias, table);
    map.set(table, table);
  }
  return map;
}

/** Every problem with one statement's plan, as readable lines. */
function planProblems({ sql, plan }: Explained): string[] {
  const problems: string[] = [];
  const aliases = aliasesOf(sql);
  // A common table expression is not a table: the lines that fill it are checked like the rest.
  const ctes = new Set([...sql.matchAll(/(?:\bWITH|,)\s*([a-z_]+) AS \(/gi)].map((m) => m[1]!.toLowerCase()));
  for (const line of plan) {
    const scan = /^SCAN (\S+)(.*)$/.exec(line);
    if (scan) {
      const [, name, rest] = scan as unknown as [string, string, string];
      // A walk of an index in its order (ended by LIMIT) is not a table scan; whether the walk
      // starts from the tenant is checked per list below.
      // So is reading back a subquery's own result (the caller's visible set in a count).
      const subquery = plan.some((l) => l === `CO-ROUTINE ${name}` || l === `MATERIALIZE ${name}`);
      const harmless =
        subquery || name.startsWith("(") || name === "CONSTANT" || ctes.has(aliases.get(name) ?? name) || /VIRTUAL TABLE|USING (COVERING )?INDEX /.test(rest);
      if (!harmless) problems.push(`full scan: "${line}"`);
      continue;
    }
    const search = /^SEARCH (\S+) USING (?:COVERING )?INDEX (\S+) (\(.*\))/.exec(line) ?? /^SEARCH (\S+) USING (INTEGER PRIMARY KEY) (\(.*\))/.exec(line);
    if (search) {
      const [, name, , constraint] = search as unknown as [string, string, string, string];
      const table = aliases.get(name) ?? name;
      if (TENANT_TABLES.includes(table) && !constraint.startsWith("(tenant_id=") && !GLOBAL_KEYS.test(constraint)) {
        problems.push(`index does not lead with tenant_id: "${line}"`);
      }
    }
  }
  return problems;
}

function expectIndexed(label: string, explained: Explained[]) {
  expect(explained.length, `${label}: no SQL recorded`).toBeGreaterThan(0);
  const report = explained.flatMap((e) => planProblems(e).map((p) => `${label}\n  ${p}\n  in: ${e.sql.slice(0, 300)}\n  plan: ${e.plan.join(" | ")}`));
  expect(report).toEqual([]);
}

/** The plan of the statement that reads the users list (the one with ORDER BY … LIMIT). */
/**
 * The plan of the list's tenant-wide read. A token's permissions are settled in the same batch,
 * so its list carries a second read after UNION ALL, for a caller without users:read: it sorts
 * the few users that caller sees (test/rows-read.test.ts bounds what it reads) and is left out.
 */
function listPlan(explained: Explained[]): Explained {
  const list = explained.find((e) => /FROM users u\b.*ORDER BY.*LIMIT/i.test(e.sql));
  if (!list) throw new Error(`no list query among: ${explained.map((e) => e.sql.slice(0, 80)).join(" / ")}`);
  const visibleSetRead = list.plan.indexOf("UNION ALL");
  return visibleSetRead < 0 ? list : { ...list, plan: list.plan.slice(0, visibleSetRead) };
}

const usersLine = (e: Explained) => e.plan.find((l) => /^(SEARCH|SCAN) u\b/.test(l)) ?? "";

async function scene() {
  const f = await createTenant();
  const t = f.tenant.id;
  const admin = await userWithToken(t, { email: "admin@x.test", username: "admin", first_name: "Ada", last_name: "Min", roles: ["admin"] });
  const member = await userWithToken(t, { email: "member@x.test", username: "member", first_name: "Mem", last_name: "Ber" });
  await createUser(t, { email: "c@x.test", username: "carol", first_name: "Carol", last_name: "Cee", is_active: false });
  await createUser(t, { email: "d@x.test", username: "dave", first_name: "Dave", last_name: "Dee" });
  const child = await call("POST", "/v1/users/me/managed-users", { token: member.token, body: { first_name: "Kid", last_name: "Ber" } });
  // A second tenant, so that a plan that ignores the tenant has other rows to wade through.
  const other = await createTenant();
  for (let i = 0; i < 5; i++) await createUser(other.tenant.id, { email: `o${i}@x.test`, username: `o${i}` });
  // Warm the isolate's key cache so only the request's own SQL is recorded.
  await call("GET", "/v1/users/me", { token: f.ownerToken });
  return { ...f, admin, member, child: child.body as { id: string } };
}

const SORT_FIELDS = ["id", "username", "email", "first_name", "last_name", "created_at", "last_login_at", "is_active"];

describe("EXPLAIN QUERY PLAN of the SQL the app issues", () => {
  it("the default list and every single-field sort, both directions: a tenant index serves the order", async () => {
    const s = await scene();
    for (const sort of ["", ...SORT_FIELDS.flatMap((f) => [f, `-${f}`])]) {
      const label = `GET /v1/users?sort=${sort}`;
      const { explained } = await explainRequest("GET", `/v1/users?limit=2${sort ? `&sort=${sort}` : ""}`, { token: s.ownerToken });
      expectIndexed(label, explained);
      const list = listPlan(explained);
      expect(usersLine(list), label).toMatch(/^SEARCH u USING (COVERING )?INDEX \S+ \(tenant_id=/);
      expect(list.plan.join("\n"), `${label}: sorted in a temporary B-tree`).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
    }
  });

  it("the next page of a cursor seeks past the cursor instead of walking the tenant from the start", async () => {
    const s = await scene();
    for (const sort of ["", ...SORT_FIELDS.flatMap((f) => [f, `-${f}`])]) {
      const first = await call("GET", `/v1/users?limit=2${sort ? `&sort=${sort}` : ""}`, { token: s.ownerToken });
      for (const cursor of [first.body.next_cursor]) {
        const label = `GET /v1/users?sort=${sort}&cursor=…`;
        const { explained } = await explainRequest("GET", `/v1/users?limit=2${sort ? `&sort=${sort}` : ""}&cursor=${cursor}`, { token: s.ownerToken });
        expectIndexed(label, explained);
        const list = listPlan(explained);
        expect(usersLine(list), label).toMatch(/\(tenant_id=\? AND .*[<>]/);
        expect(list.plan.join("\n"), label).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
        // And back again from there.
        const second = await call("GET", `/v1/users?limit=2${sort ? `&sort=${sort}` : ""}&cursor=${cursor}`, { token: s.ownerToken });
        const back = await explainRequest("GET", `/v1/users?limit=2${sort ? `&sort=${sort}` : ""}&cursor=${second.body.previous_cursor}`, { token: s.ownerToken });
        expectIndexed(`${label} (previous)`, back.explained);
        expect(usersLine(listPlan(back.explained)), `${label} (previous)`).toMatch(/\(tenant_id=\? AND .*[<>]/);
      }
    }
  });

  it("search-free filters read through tenant indexes", async () => {
    const s = await scene();
    for (const query of [
      "is_active=false",
      "is_managed=true",
      "username=Carol",
      "email=C@X.TEST",
      "role=admin",
      `manager_id=${s.member.user.id}`,
      "is_active=true&role=member&sort=-last_name",
    ]) {
      const { explained } = await explainRequest("GET", `/v1/users?${query}`, { token: s.ownerToken });
      expectIndexed(`GET /v1/users?${query}`, explained);
      expect(usersLine(listPlan(explained)), query).toMatch(/^SEARCH u USING (COVERING )?INDEX \S+ \(tenant_id=/);
    }
    // The exact lookups use their unique indexes, not a walk of the tenant.
    expect(usersLine(listPlan((await explainRequest("GET", "/v1/users?username=Carol", { token: s.ownerToken })).explained))).toMatch(/users_username_uq/);
    expect(usersLine(listPlan((await explainRequest("GET", "/v1/users?email=C@X.TEST", { token: s.ownerToken })).explained))).toMatch(/users_email_uq/);
  });

  it("a search of three or more characters reads its matches from the trigram index, not the tenant in sort order", async () => {
    const s = await scene();
    for (const query of ["search=ber", "search=ber&sort=-last_name", "search=ber&page=1&page_size=2", "search=ber&is_active=true"]) {
      const { explained } = await explainRequest("GET", `/v1/users?${query}`, { token: s.ownerToken });
      expectIndexed(query, explained);
      for (const e of explained.filter((x) => /FROM users u\b/.test(x.sql))) {
        const plan = e.plan.join(" | ");
        // Walking a sort index and testing every row against the search costs the whole tenant.
        expect(usersLine(e), `${query}: ${plan}`).toBe("SEARCH u USING INTEGER PRIMARY KEY (rowid=?)");
        expect(plan, query).toMatch(/SCAN users_search VIRTUAL TABLE/);
      }
    }
    // The member's list drives from the index the same way.
    const { explained } = await explainRequest("GET", "/v1/users?search=ber", { token: s.member.token });
    expect(usersLine(listPlan(explained))).toBe("SEARCH u USING INTEGER PRIMARY KEY (rowid=?)");
  });

  it("page mode: the page and its total count", async () => {
    const s = await scene();
    const { explained } = await explainRequest("GET", "/v1/users?page=2&page_size=2", { token: s.ownerToken });
    expectIndexed("page mode", explained);
    const count = explained.find((e) => /AS total/i.test(e.sql));
    expect(count, "count statement").toBeDefined();
    expect(usersLine(count!)).toMatch(/^SEARCH u USING (COVERING )?INDEX \S+ \(tenant_id=/);
  });

  it("page-mode totals: the counters for counted filters, the filter's own index for the rest, the visible set for members", async () => {
    const s = await scene();
    const totalPlan = async (query: string, token = s.ownerToken) => {
      const { explained } = await explainRequest("GET", `/v1/users?page=1&page_size=2&${query}`, { token });
      expectIndexed(query, explained);
      return explained.find((e) => /AS total/.test(e.sql))!.plan.join(" | ");
    };
    for (const query of ["", "is_active=false", "is_managed=true", "role=admin", "role=member&is_active=true&is_managed=false"]) {
      const plan = await totalPlan(query);
      expect(plan, query).toMatch(/SEARCH user_counts USING PRIMARY KEY \(tenant_id=\? AND role=\?/);
      // Whoever asks, the tenant-wide branch never counts users.
      expect(plan.slice(0, plan.indexOf("CO-ROUTINE v")), query).not.toMatch(/ u USING/);
    }
    expect(await totalPlan("username=Carol")).toMatch(/SEARCH u USING INDEX users_username_uq \(tenant_id=\? AND <expr>=\?\)/);
    expect(await totalPlan("email=C@X.TEST")).toMatch(/SEARCH u USING INDEX users_email_uq \(tenant_id=\? AND <expr>=\?\)/);
    expect(await totalPlan(`manager_id=${s.member.user.id}&is_active=true`)).toMatch(/SEARCH u USING INDEX users_manager_idx \(tenant_id=\? AND manager_id=\?\)/);
    expect(await totalPlan("search=ber&is_active=true")).toMatch(/SEARCH u USING INTEGER PRIMARY KEY \(rowid=\?\).*SCAN users_search VIRTUAL TABLE/);
    // A member counts their visible set: one primary-key lookup per user in it.
    expect(await totalPlan("is_active=true", s.member.token)).toMatch(/SCAN v \| SEARCH u USING INDEX \S+ \(tenant_id=\? AND (is_active=\? AND )?id=\?\)$/);
  });

  it("a member's list (self, managed, shared) reads through tenant indexes too", async () => {
    const s = await scene();
    const { explained } = await explainRequest("GET", "/v1/users", { token: s.member.token });
    expectIndexed("member list", explained);
  });

  it("lookups by id, me, the session check and edits", async () => {
    const s = await scene();
    const cases: [string, string, { token: string; tenant?: string; body?: unknown }][] = [
      ["GET", `/v1/users/${s.admin.user.id}`, { token: s.ownerToken }],
      ["GET", "/v1/users/me", { token: s.member.token }],
      ["GET", `/v1/users/${s.child.id}`, { token: s.member.token }],
      ["PATCH", `/v1/users/${s.admin.user.id}`, { token: s.ownerToken, body: { first_name: "Adah", metadata: { a: 1 } } }],
      ["PATCH", `/v1/users/${s.admin.user.id}`, { token: s.ownerToken, body: { roles: ["admin", "member"] } }],
      ["PUT", `/v1/users/${s.admin.user.id}`, { token: s.ownerToken, body: { email: "admin@x.test", username: "admin" } }],
      ["PATCH", "/v1/users/me", { token: s.member.token, body: { last_name: "Berry" } }],
      ["POST", "/v1/users", { token: s.ownerToken, body: { email: "new@x.test", roles: ["member"] } }],
      ["GET", `/v1/users/${s.admin.user.id}`, { token: PLATFORM_KEY, tenant: s.tenant.slug }],
      ["GET", `/v1/users/${s.admin.user.id}`, { token: PLATFORM_KEY, tenant: s.tenant.id }],
    ];
    for (const [method, path, opts] of cases) {
      const { explained } = await explainRequest(method, path, opts);
      expectIndexed(`${method} ${path}`, explained);
      for (const e of explained.filter((x) => /FROM users u\b/.test(x.sql) && /u\.id = \?/.test(x.sql))) {
        expect(usersLine(e), `${method} ${path}`).toMatch(/\((tenant_id=\? AND id=\?|id=\?)\)/);
      }
    }
  });

  it("the guards and changes of shares, session revokes, API keys, roles and tenants", async () => {
    const s = await scene();
    const cases: [string, string, { token: string; tenant?: string; body?: unknown }][] = [
      ["PUT", `/v1/users/me/shares/${s.admin.user.id}`, { token: s.member.token, body: { scopes: ["profile:read"] } }],
      ["DELETE", `/v1/users/${s.member.user.id}/sessions`, { token: s.ownerToken }],
      ["POST", "/v1/api-keys", { token: s.ownerToken, body: { name: "k", roles: ["member"] } }],
      ["POST", "/v1/roles", { token: s.ownerToken, body: { name: "PLAN", permissions: ["tasks:read"] } }],
      ["PATCH", "/v1/roles/PLAN", { token: s.ownerToken, body: { permissions: ["tasks:read", "tasks:write"] } }],
      ["DELETE", "/v1/roles/PLAN", { token: s.ownerToken }],
      ["PATCH", `/v1/tenants/${s.tenant.slug}`, { token: PLATFORM_KEY, body: { name: "Planned" } }],
    ];
    for (const [method, path, opts] of cases) {
      const { explained } = await explainRequest(method, path, opts);
      expect(explained.some((e) => /write_guard/.test(e.sql)), `${method} ${path} has a guard`).toBe(true);
      expectIndexed(`${method} ${path}`, explained);
    }
  });

  it("tenants: lookups by id or slug, and the list", async () => {
    const s = await scene();
    for (const path of [`/v1/tenants/${s.tenant.id}`, `/v1/tenants/${s.tenant.slug}`, "/v1/tenants?limit=2", "/v1/tenants?page=1&page_size=2"]) {
      const { explained } = await explainRequest("GET", path, { token: PLATFORM_KEY });
      // Page mode's total reads the live_tenants counter, not every tenant.
      expectIndexed(`GET ${path}`, explained);
    }
    const first = await call("GET", "/v1/tenants?limit=1", { token: PLATFORM_KEY });
    const { explained } = await explainRequest("GET", `/v1/tenants?limit=1&cursor=${first.body.next_cursor}`, { token: PLATFORM_KEY });
    expectIndexed("GET /v1/tenants?cursor", explained);
    const list = explained.find((e) => /FROM tenants/i.test(e.sql) && /LIMIT/i.test(e.sql))!;
    expect(list.plan.join("\n")).toMatch(/SEARCH tenants USING (COVERING )?INDEX tenants_created_idx \(created_at>/);
  });

  it("the partial users indexes (username, manager, external id, pending deletion) serve the lookups that name their column", async () => {
    // The statements' shapes as the external-identity principal, managed users and the purge send them.
    const plan = async (query: string, ...args: string[]) =>
      (await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`).bind(...args).all<{ detail: string }>()).results.map((r) => r.detail).join(" | ");
    expect(await plan("SELECT u.id FROM tenants t JOIN users u ON u.tenant_id = t.id AND lower(u.external_id) = lower(?1) AND u.external_id = ?1 WHERE t.id = ?2", "e", "t"))
      .toMatch(/SEARCH u USING INDEX users_external_id_uq \(tenant_id=\? AND <expr>=\?\)/);
    expect(await plan("SELECT id FROM users u WHERE u.tenant_id = ?1 AND lower(u.username) = lower(?2)", "t", "Bob"))
      .toMatch(/USING INDEX users_username_uq \(tenant_id=\? AND <expr>=\?\)/);
    expect(await plan("SELECT id FROM users WHERE tenant_id = ?1 AND manager_id = ?2", "t", "m")).toMatch(/USING INDEX users_manager_idx \(tenant_id=\? AND manager_id=\?\)/);
    expect(await plan("SELECT id FROM users WHERE tenant_id = ?1 AND deleted_at IS NOT NULL", "t")).toMatch(/USING INDEX users_deleted_idx \(tenant_id=\? AND deleted_at>\?\)/);
    // They are partial: a user with none of those columns costs no entry in them on insert.
    const indexes = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE name IN ('users_username_uq', 'users_manager_idx', 'users_external_id_uq', 'users_deleted_idx') ORDER BY name",
    ).all<{ name: string; sql: string }>();
    expect(indexes.results.map((r) => [r.name, /WHERE (lower\((username|external_id)\)|manager_id|deleted_at) IS NOT NULL$/.test(r.sql)])).toEqual([
      ["users_deleted_idx", true],
      ["users_external_id_uq", true],
      ["users_manager_idx", true],
      ["users_username_uq", true],
    ]);
  });

  it("the sort indexes hold live users only, so a deep page-mode page skips rows without reading them", async () => {
    const sorts = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND (name = 'users_created_idx' OR name LIKE 'users_sort_%') ORDER BY name",
    ).all<{ name: string; sql: string }>();
    expect(sorts.results.map((r) => r.name)).toEqual([
      "users_created_idx",
      "users_sort_email_idx",
      "users_sort_first_name_idx",
      "users_sort_is_active_idx",
      "users_sort_last_login_idx",
      "users_sort_last_name_idx",
      "users_sort_username_idx",
    ]);
    for (const r of sorts.results) expect(r.sql, r.name).toMatch(/WHERE deleted_at IS NULL$/);
  });

  it("the checker itself flags a full scan and a non-tenant index", () => {
    expect(planProblems({ sql: "SELECT * FROM users u WHERE u.email = ?", plan: ["SCAN u"] })).toHaveLength(1);
    expect(planProblems({ sql: "SELECT * FROM users u", plan: ["SCAN u USING INDEX users_created_idx"] })).toHaveLength(0);
    expect(planProblems({ sql: "SELECT * FROM sessions s", plan: ["SEARCH s USING INDEX sessions_by_user (user_id=?)"] })).toHaveLength(1);
    expect(planProblems({ sql: "WITH target AS (SELECT * FROM users WHERE tenant_id = ? AND id = ?) SELECT 1 FROM (SELECT 1) LEFT JOIN target t ON 1", plan: ["SCAN t LEFT-JOIN"] })).toHaveLength(0);
    expect(planProblems({ sql: "WITH target AS (SELECT * FROM users) SELECT 1 FROM target t JOIN users u", plan: ["SCAN t", "SCAN u"] })).toHaveLength(1);
    expect(planProblems({ sql: "SELECT * FROM users u JOIN json_each(?) j", plan: ["SEARCH u USING INDEX users_tenant_id_uq (tenant_id=? AND id=?)", "SCAN j VIRTUAL TABLE INDEX 1:"] })).toHaveLength(0);
  });
});
