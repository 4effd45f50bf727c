import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTenant, createUser, PLATFORM_KEY, userWithToken } from "./helpers";

/**
 * Page-mode totals come from counters kept by triggers (migrations/0004_list_counts.sql). After
 * every kind of change, each total must equal a plain count of the users it describes.
 */
interface Filters {
  is_active?: boolean;
  is_managed?: boolean;
  role?: string;
}

const COMBINATIONS: Filters[] = [
  {},
  { is_active: true },
  { is_active: false },
  { is_managed: true },
  { is_managed: false },
  { role: "member" },
  { role: "admin" },
  { role: "auditor" },
  { role: "member", is_active: false },
  { role: "member", is_managed: true },
  { is_active: true, is_managed: false },
  { is_active: false, is_managed: true, role: "member" },
];

/** The truth: a count of the tenant's live users matching the filters. */
async function counted(tenantId: string, f: Filters): Promise<number> {
  const where = ["u.tenant_id = ?", "u.deleted_at IS NULL"];
  const params: unknown[] = [tenantId];
  if (f.is_active !== undefined) where.push(`u.is_active = ${f.is_active ? 1 : 0}`);
  if (f.is_managed !== undefined) where.push(`u.is_managed = ${f.is_managed ? 1 : 0}`);
  if (f.role !== undefined) {
    where.push("EXISTS (SELECT 1 FROM user_roles r WHERE r.tenant_id = u.tenant_id AND r.user_id = u.id AND r.role = ?)");
    params.push(f.role);
  }
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM users u WHERE ${where.join(" AND ")}`)
    .bind(...params)
    .first<{ n: number }>();
  return row!.n;
}

const query = (f: Filters) =>
  Object.entries(f)
    .map(([k, v]) => `&${k}=${v}`)
    .join("");

async function total(token: string, f: Filters, extra = ""): Promise<number> {
  const res = await call("GET", `/v1/users?page=1&page_size=1${query(f)}${extra}`, { token });
  expect(res.status).toBe(200);
  return res.body.total as number;
}

/** Every combination's total against the truth; returns the totals for further checks. */
async function expectExact(tenantId: string, token: string) {
  const totals: Record<string, number> = {};
  for (const f of COMBINATIONS) {
    const key = JSON.stringify(f);
    totals[key] = await total(token, f);
    expect(totals[key], key).toBe(await counted(tenantId, f));
  }
  return (f: Filters) => totals[JSON.stringify(f)]!;
}

async function scene() {
  const f = await createTenant();
  const t = f.tenant.id;
  const role = await call("POST", "/v1/roles", { token: f.ownerToken, body: { name: "auditor", permissions: ["audit:read"] } });
  expect(role.status).toBe(201);
  return { ...f, t };
}

describe("GET /v1/users page-mode total", () => {
  it("stays exact after create, deactivate, reactivate, and role grants and removals", async () => {
    const s = await scene();
    let before = await expectExact(s.t, s.ownerToken);
    const u = await createUser(s.t, { email: "a@x.test", roles: ["member", "auditor"] });
    let after = await expectExact(s.t, s.ownerToken);
    expect(after({})).toBe(before({}) + 1);
    expect(after({ role: "auditor" })).toBe(before({ role: "auditor" }) + 1);
    await createUser(s.t, { email: "b@x.test", is_active: false });
    after = await expectExact(s.t, s.ownerToken);
    expect(after({ is_active: false })).toBe(1);

    const patch = (body: unknown) => call("PATCH", `/v1/users/${u.id}`, { token: s.ownerToken, body });
    before = after;
    expect((await patch({ is_active: false })).status).toBe(200);
    after = await expectExact(s.t, s.ownerToken);
    expect(after({ is_active: false })).toBe(before({ is_active: false }) + 1);
    expect(await total(s.ownerToken, { role: "auditor", is_active: false })).toBe(1);
    expect((await patch({ is_active: true })).status).toBe(200);
    after = await expectExact(s.t, s.ownerToken);
    expect(after({ is_active: false })).toBe(before({ is_active: false }));

    expect((await patch({ roles: ["member", "admin"] })).status).toBe(200);
    after = await expectExact(s.t, s.ownerToken);
    expect(after({ role: "auditor" })).toBe(0);
    expect(after({ role: "admin" })).toBe(before({ role: "admin" }) + 1);
    expect((await patch({ roles: [] })).status).toBe(200);
    after = await expectExact(s.t, s.ownerToken);
    expect(after({ role: "member" })).toBe(before({ role: "member" }) - 1);
    expect(after({})).toBe(before({}));
  });

  it("stays exact after managed users are created and a manager is deleted with them", async () => {
    const s = await scene();
    const manager = await userWithToken(s.t, { email: "m@x.test", roles: ["member", "auditor"] });
    const before = await expectExact(s.t, s.ownerToken);
    for (const name of ["One", "Two", "Three"]) {
      const kid = await call("POST", "/v1/users/me/managed-users", { token: manager.token, body: { first_name: "Kid", last_name: name } });
      expect(kid.status).toBe(201);
    }
    let after = await expectExact(s.t, s.ownerToken);
    expect(after({ is_managed: true })).toBe(before({ is_managed: true }) + 3);
    expect(await total(s.ownerToken, {}, `&manager_id=${manager.user.id}`)).toBe(3);

    expect((await call("DELETE", `/v1/users/${manager.user.id}`, { token: s.ownerToken })).status).toBe(204);
    after = await expectExact(s.t, s.ownerToken);
    expect(after({})).toBe(before({}) - 1);
    expect(after({ is_managed: true })).toBe(before({ is_managed: true }));
    expect(after({ role: "auditor" })).toBe(before({ role: "auditor" }) - 1);
    expect(await total(s.ownerToken, {}, `&manager_id=${manager.user.id}`)).toBe(0);
  });

  it("users marked deleted stop counting at once, before the purge removes them", async () => {
    const s = await scene();
    const u = await createUser(s.t, { email: "gone@x.test", roles: ["member", "auditor"] });
    const before = await expectExact(s.t, s.ownerToken);
    // What the cascading delete does first (src/deletion/purge.ts markUserTreeDeleted).
    await env.DB.prepare("UPDATE users SET deleted_at = ?, version = version + 1 WHERE tenant_id = ? AND id = ?")
      .bind(new Date().toISOString(), s.t, u.id)
      .run();
    const after = await expectExact(s.t, s.ownerToken);
    expect(after({})).toBe(before({}) - 1);
    expect(after({ role: "auditor" })).toBe(before({ role: "auditor" }) - 1);
    // The purge then deletes the grants and the row: nothing moves twice.
    await env.DB.batch([
      env.DB.prepare("DELETE FROM user_roles WHERE tenant_id = ? AND user_id = ?").bind(s.t, u.id),
      env.DB.prepare("DELETE FROM users WHERE tenant_id = ? AND id = ?").bind(s.t, u.id),
    ]);
    expect((await expectExact(s.t, s.ownerToken))({})).toBe(after({}));
  });

  it("stays exact after a bulk insert straight into D1, and after a direct delete that cascades", async () => {
    const s = await scene();
    const now = new Date().toISOString();
    const rows = Array.from({ length: 40 }, (_, i) => `usr_bulk${String(i).padStart(4, "0")}${s.t.slice(-8)}`);
    const values = rows.map((id, i) => `('${id}', '${s.t}', 'bulk${i}', ${i % 4 === 0 ? 0 : 1}, ${i >= 30 ? `1, '${rows[0]}'` : "0, NULL"}, '${now}', '${now}')`);
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO users (id, tenant_id, username, is_active, is_managed, manager_id, created_at, updated_at) VALUES ${values.join(", ")}`),
      env.DB.prepare(`INSERT INTO user_roles (tenant_id, user_id, role) SELECT ?, value, 'member' FROM json_each(?)`).bind(s.t, JSON.stringify(rows)),
      env.DB.prepare(`INSERT INTO user_roles (tenant_id, user_id, role) SELECT ?, value, 'auditor' FROM json_each(?)`).bind(s.t, JSON.stringify(rows.slice(0, 10))),
    ]);
    const after = await expectExact(s.t, s.ownerToken);
    expect(after({ is_managed: true })).toBe(10);
    // Deleting the first row cascades (users.manager_id, user_roles) to its ten managed users.
    await env.DB.prepare("DELETE FROM users WHERE tenant_id = ? AND id = ?").bind(s.t, rows[0]).run();
    const gone = await expectExact(s.t, s.ownerToken);
    expect(gone({})).toBe(after({}) - 11);
    expect(gone({ is_managed: true })).toBe(0);
    expect(gone({ role: "auditor" })).toBe(after({ role: "auditor" }) - 1);
  });

  it("a caller without users:read counts only what they see: self, managed and shared", async () => {
    const s = await scene();
    const member = await userWithToken(s.t, { email: "mem@x.test" });
    const sharer = await userWithToken(s.t, { email: "sharer@x.test", is_active: true });
    await createUser(s.t, { email: "stranger@x.test" });
    for (const name of ["A", "B"]) {
      expect((await call("POST", "/v1/users/me/managed-users", { token: member.token, body: { first_name: "Kid", last_name: name } })).status).toBe(201);
    }
    const shared = await call("PUT", `/v1/users/me/shares/${member.user.id}`, { token: sharer.token, body: { scopes: ["profile:read"] } });
    expect(shared.status).toBe(200);
    expect(await total(member.token, {})).toBe(4);
    expect(await total(member.token, {}, "&include_managed=false")).toBe(2);
    expect(await total(member.token, {}, "&include_shared=false")).toBe(3);
    expect(await total(member.token, { is_managed: true })).toBe(2);
    expect(await total(member.token, {}, "&search=sharer")).toBe(1);
    expect(await total(member.token, {}, "&search=x.")).toBe(2); // a short term: LIKE over the visible set
    expect(await total(member.token, {}, "&email=stranger@x.test")).toBe(0);
    // The page agrees with its total.
    const page = await call("GET", "/v1/users?page=1&page_size=10", { token: member.token });
    expect(page.body.items).toHaveLength(4);
    // An API key without users:read sees nobody.
    const key = await call("POST", "/v1/api-keys", { token: s.ownerToken, body: { name: "k", roles: ["auditor"] } });
    expect(key.status).toBe(201);
    expect(await total(key.body.key, {})).toBe(0);
  });

  it("uncounted filters (username, email, manager_id, search) are exact too", async () => {
    const s = await scene();
    const ann = await createUser(s.t, { email: "ann@x.test", username: "Ann", first_name: "Annabel", is_active: false });
    await createUser(s.t, { email: "bob@x.test", username: "bob", first_name: "Annie" });
    expect(await total(s.ownerToken, {}, "&username=ANN")).toBe(1);
    expect(await total(s.ownerToken, { is_active: true }, "&username=ann")).toBe(0);
    expect(await total(s.ownerToken, {}, "&email=BOB@x.test")).toBe(1);
    expect(await total(s.ownerToken, {}, "&search=anni")).toBe(1);
    expect(await total(s.ownerToken, {}, "&search=ann")).toBe(2);
    expect(await total(s.ownerToken, { is_active: false }, "&search=ann")).toBe(1);
    expect(await total(s.ownerToken, {}, "&search=nn")).toBe(2);
    expect(await total(s.ownerToken, {}, `&manager_id=${ann.id}`)).toBe(0);
    // The platform key holds users:read as a platform principal acting in the tenant.
    expect(await total(PLATFORM_KEY, {}, `&tenant=${s.t}&search=ann`)).toBe(2);
  });
});

describe("page-mode totals of the other lists", () => {
  it("GET /v1/events and GET /v1/tenants: exact after changes, from their counters", async () => {
    const s = await scene();
    const events = async (type = "") =>
      (await call("GET", `/v1/events?page=1&page_size=1${type ? `&type=${type}` : ""}`, { token: s.ownerToken })).body.total as number;
    const truth = async (type?: string) =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM events WHERE tenant_id = ?${type ? " AND type = ?" : ""}`)
        .bind(...(type ? [s.t, type] : [s.t]))
        .first<{ n: number }>())!.n;
    const before = await events();
    expect(before).toBe(await truth());
    await createUser(s.t, { email: "e@x.test" });
    expect(await events()).toBe(before + 1);
    expect(await events("user.created")).toBe(await truth("user.created"));
    expect(await events("user.deleted")).toBe(0);

    const tenants = async () => (await call("GET", "/v1/tenants?page=1&page_size=1", { token: PLATFORM_KEY })).body.total as number;
    const liveTenants = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM tenants WHERE deleted_at IS NULL").first<{ n: number }>())!.n;
    const tenantsBefore = await tenants();
    expect(tenantsBefore).toBe(await liveTenants());
    const other = await createTenant();
    expect(await tenants()).toBe(tenantsBefore + 1);
    expect((await call("DELETE", `/v1/tenants/${other.tenant.id}`, { token: PLATFORM_KEY })).status).toBe(204);
    expect(await tenants()).toBe(tenantsBefore);
    expect(await tenants()).toBe(await liveTenants());
    // The purged tenant took its counters along.
    const left = await env.DB.prepare("SELECT (SELECT count(*) FROM user_counts WHERE tenant_id = ?1) + (SELECT count(*) FROM event_counts WHERE tenant_id = ?1) AS n")
      .bind(other.tenant.id)
      .first<{ n: number }>();
    expect(left!.n).toBe(0);
  });
});
