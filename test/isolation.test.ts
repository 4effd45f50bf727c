import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

/**
 * Tenant isolation: an id, a search term or a cursor from tenant B never reaches B's data from
 * tenant A, whatever the caller names (X-Tenant, ?tenant=, ids in paths, filters, cursors).
 * Every test builds two tenants with look-alike data, so a leak would show as a foreign id.
 */
async function twoTenants() {
  const a = await createTenant();
  const b = await createTenant();
  const aUser = await createUser(a.tenant.id, { email: "shared@x.test", username: "twin", first_name: "Alpha", last_name: "Common", external_id: "ext-1" });
  const bUser = await createUser(b.tenant.id, { email: "shared@x.test", username: "twin", first_name: "Bravo", last_name: "Common", external_id: "ext-1", metadata: { secret: "b-only" } });
  const bOnly = await createUser(b.tenant.id, { email: "only-in-b@x.test", username: "bonly", first_name: "Zanzibar", last_name: "Quixotic", roles: ["admin"] });
  const bManager = await userWithToken(b.tenant.id, { email: "bmanager@x.test" });
  const bChild = await call("POST", "/v1/users/me/managed-users", { token: bManager.token, body: { first_name: "Bchild", last_name: "Kid" } });
  return { a, b, aUser, bUser, bOnly, bManager, bChild: bChild.body as { id: string } };
}

const ids = (body: { items: { id: string; tenant_id: string }[] }) => body.items.map((u) => u.id);

/** All user ids of B: none may ever appear in an answer to a caller acting in A. */
async function idsOfTenant(tenantId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT id FROM users WHERE tenant_id = ?").bind(tenantId).all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

describe("ids from another tenant", () => {
  it("reading, patching, replacing or deleting B's user from A is a 404 and B is unchanged", async () => {
    const s = await twoTenants();
    const before = await call("GET", `/v1/users/${s.bOnly.id}`, { token: PLATFORM_KEY, tenant: s.b.tenant.id });
    const callers = [
      { token: s.a.ownerToken },
      { token: s.a.ownerToken, tenant: s.b.tenant.id },
      { token: s.a.ownerToken, tenant: s.b.tenant.slug },
      { token: PLATFORM_KEY, tenant: s.a.tenant.id },
    ];
    for (const who of callers) {
      await expectProblem(await api("GET", `/v1/users/${s.bOnly.id}`, who), 404, "not_found");
      await expectProblem(await api("GET", `/v1/users/${s.bOnly.id}?tenant=${s.b.tenant.id}`, who), 404, "not_found");
      await expectProblem(await api("PATCH", `/v1/users/${s.bOnly.id}`, { ...who, body: { first_name: "Owned" } }), 404, "not_found");
      await expectProblem(await api("PUT", `/v1/users/${s.bOnly.id}`, { ...who, body: { email: "owned@x.test" } }), 404, "not_found");
      await expectProblem(await api("DELETE", `/v1/users/${s.bOnly.id}`, who), 404, "not_found");
    }
    const after = await call("GET", `/v1/users/${s.bOnly.id}`, { token: PLATFORM_KEY, tenant: s.b.tenant.id });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before.body);
    expect(after.headers.get("ETag")).toBe(before.headers.get("ETag"));
  });

  it("a 404 for another tenant's user looks exactly like one for a user that never existed", async () => {
    const s = await twoTenants();
    const foreign = await api("GET", `/v1/users/${s.bOnly.id}`, { token: s.a.ownerToken });
    const missing = await api("GET", "/v1/users/usr_00000000000000000000000000", { token: s.a.ownerToken });
    const [f, m] = [await foreign.json<Record<string, unknown>>(), await missing.json<Record<string, unknown>>()];
    expect(foreign.status).toBe(missing.status);
    expect({ ...f, detail: undefined }).toEqual({ ...m, detail: undefined });
    expect(f.detail).toBe(m.detail);
  });

  it("B's manager id and B's role names filter nothing in A", async () => {
    const s = await twoTenants();
    const bIds = await idsOfTenant(s.b.tenant.id);
    for (const query of [`manager_id=${s.bManager.user.id}`, "role=admin", `username=bonly`, "email=only-in-b@x.test", "is_managed=true"]) {
      const res = await call("GET", `/v1/users?${query}&limit=5000`, { token: s.a.ownerToken });
      expect(res.status, query).toBe(200);
      for (const id of ids(res.body)) expect(bIds, query).not.toContain(id);
    }
  });

  it("a user of A with the same email as one in B is a different user: A's changes stay in A", async () => {
    const s = await twoTenants();
    // A user of A with the same email as one in B is a different user; changes stay in A.
    const patched = await call("PATCH", `/v1/users/${s.aUser.id}`, { token: s.a.ownerToken, body: { first_name: "Changed" } });
    expect(patched.body.id).toBe(s.aUser.id);
    const b = await call("GET", `/v1/users/${s.bUser.id}`, { token: PLATFORM_KEY, tenant: s.b.tenant.id });
    expect(b.body.first_name).toBe("Bravo");
  });
});

describe("search terms from another tenant", () => {
  it("a term that only B's users match finds nothing in A, on every search path", async () => {
    const s = await twoTenants();
    for (const term of ["Zanzibar", "zanz", "Za", "Quixotic", "only-in-b", "bonly", "bchild", "secret", "b-only"]) {
      const res = await call("GET", `/v1/users?search=${encodeURIComponent(term)}&limit=5000`, { token: s.a.ownerToken });
      expect(res.status, term).toBe(200);
      expect(res.body.items, term).toEqual([]);
    }
  });

  it("a term both tenants match returns only the caller's own users, and totals count only them", async () => {
    const s = await twoTenants();
    const bIds = await idsOfTenant(s.b.tenant.id);
    for (const term of ["common", "twin", "shared@x", "x.test", "co"]) {
      const res = await call("GET", `/v1/users?search=${term}&page=1&page_size=5000`, { token: s.a.ownerToken });
      expect(res.status).toBe(200);
      for (const u of res.body.items) expect(u.tenant_id).toBe(s.a.tenant.id);
      for (const id of ids(res.body)) expect(bIds).not.toContain(id);
      expect(res.body.total).toBe(res.body.items.length);
    }
    const twin = await call("GET", "/v1/users?search=twin", { token: s.a.ownerToken });
    expect(ids(twin.body)).toEqual([s.aUser.id]);
  });
});

describe("naming another tenant", () => {
  it("a tenant principal's X-Tenant or ?tenant= is ignored: it always acts in its own tenant", async () => {
    const s = await twoTenants();
    const own = ids((await call("GET", "/v1/users?limit=5000", { token: s.a.ownerToken })).body).sort();
    for (const opts of [
      { path: "/v1/users?limit=5000", tenant: s.b.tenant.id },
      { path: "/v1/users?limit=5000", tenant: s.b.tenant.slug },
      { path: `/v1/users?limit=5000&tenant=${s.b.tenant.id}`, tenant: undefined },
      { path: `/v1/users?limit=5000&tenant=${s.b.tenant.slug}`, tenant: s.b.tenant.id },
    ]) {
      const res = await call("GET", opts.path, { token: s.a.ownerToken, tenant: opts.tenant });
      expect(res.status).toBe(200);
      expect(ids(res.body).sort()).toEqual(own);
    }
    const created = await call("POST", `/v1/users?tenant=${s.b.tenant.id}`, { token: s.a.ownerToken, tenant: s.b.tenant.id, body: { email: "planted@x.test" } });
    expect(created.status).toBe(201);
    expect(created.body.tenant_id).toBe(s.a.tenant.id);
    expect((await call("GET", "/v1/users?email=planted@x.test", { token: PLATFORM_KEY, tenant: s.b.tenant.id })).body.items).toEqual([]);
  });

  it("a platform principal acts only in the tenant it names", async () => {
    const s = await twoTenants();
    const inA = await call("GET", "/v1/users?limit=5000", { token: PLATFORM_KEY, tenant: s.a.tenant.id });
    const aIds = await idsOfTenant(s.a.tenant.id);
    expect(ids(inA.body).sort()).toEqual([...aIds].sort());
    // X-Tenant wins over ?tenant= … and neither mixes the two.
    const both = await call("GET", `/v1/users?limit=5000&tenant=${s.b.tenant.id}`, { token: PLATFORM_KEY, tenant: s.a.tenant.id });
    for (const u of both.body.items) expect(u.tenant_id).toBe(both.body.items[0].tenant_id);
  });

  it("a user of A reading tenant B by id or slug gets 404", async () => {
    const s = await twoTenants();
    await expectProblem(await api("GET", `/v1/tenants/${s.b.tenant.id}`, { token: s.a.ownerToken }), 404, "not_found");
    await expectProblem(await api("GET", `/v1/tenants/${s.b.tenant.slug}`, { token: s.a.ownerToken, tenant: s.b.tenant.id }), 404, "not_found");
  });
});

describe("cursors from another tenant or another caller", () => {
  it("a cursor issued in A is a 422 invalid_cursor in B", async () => {
    const s = await twoTenants();
    const fromA = await call("GET", "/v1/users?limit=1", { token: s.a.ownerToken });
    expect(fromA.body.next_cursor).toBeTruthy();
    await expectProblem(await api("GET", `/v1/users?limit=1&cursor=${fromA.body.next_cursor}`, { token: s.b.ownerToken }), 422, "invalid_cursor");
    await expectProblem(
      await api("GET", `/v1/users?limit=1&cursor=${fromA.body.next_cursor}`, { token: PLATFORM_KEY, tenant: s.b.tenant.id }),
      422,
      "invalid_cursor",
    );
    // The platform principal's cursor from A is no good in B either.
    const platformA = await call("GET", "/v1/users?limit=1", { token: PLATFORM_KEY, tenant: s.a.tenant.id });
    await expectProblem(
      await api("GET", `/v1/users?limit=1&cursor=${platformA.body.next_cursor}`, { token: PLATFORM_KEY, tenant: s.b.tenant.id }),
      422,
      "invalid_cursor",
    );
    // previous_cursor too.
    const page2 = await call("GET", `/v1/users?limit=1&cursor=${fromA.body.next_cursor}`, { token: s.a.ownerToken });
    await expectProblem(await api("GET", `/v1/users?cursor=${page2.body.previous_cursor}`, { token: s.b.ownerToken }), 422, "invalid_cursor");
  });

  it("a cursor is bound to its caller: another user of the same tenant cannot reuse it", async () => {
    const s = await twoTenants();
    const member = await userWithToken(s.a.tenant.id, { email: "member@x.test" });
    const admin = await userWithToken(s.a.tenant.id, { email: "admin@x.test", roles: ["admin"] });
    const fromAdmin = await call("GET", "/v1/users?limit=1", { token: admin.token });
    await expectProblem(await api("GET", `/v1/users?cursor=${fromAdmin.body.next_cursor}`, { token: member.token }), 422, "invalid_cursor");
  });
});

describe("writes stay in their tenant", () => {
  it("uniqueness is per tenant: B's email, username and external_id are free in A", async () => {
    const s = await twoTenants();
    const created = await call("POST", "/v1/users", { token: s.a.ownerToken, body: { email: "ONLY-IN-B@x.test", username: "BONLY" } });
    expect(created.status).toBe(201);
    const patched = await call("PATCH", `/v1/users/${created.body.id}`, { token: s.a.ownerToken, body: { external_id: "ext-2" } });
    expect(patched.status).toBe(200);
  });

  it("a role name of B cannot be granted in A unless A has it", async () => {
    const s = await twoTenants();
    const role = await call("POST", "/v1/roles", { token: s.b.ownerToken, body: { name: "b-custom", permissions: ["tasks:admin"] } });
    expect(role.status).toBe(201);
    const res = await api("POST", "/v1/users", { token: s.a.ownerToken, body: { email: "r@x.test", roles: ["admin"] } });
    expect(res.status).toBe(201);
    await expectProblem(await api("POST", "/v1/users", { token: s.a.ownerToken, body: { email: "r2@x.test", roles: ["b-custom"] } }), 422, "validation_failed");
  });

  it("deleting tenant B leaves every row of A in place", async () => {
    const s = await twoTenants();
    const count = async (tenantId: string) =>
      (await env.DB.prepare("SELECT (SELECT count(*) FROM users WHERE tenant_id = ?1) + (SELECT count(*) FROM user_roles WHERE tenant_id = ?1) + (SELECT count(*) FROM sessions WHERE tenant_id = ?1) AS n").bind(tenantId).first<{ n: number }>())!.n;
    const before = await count(s.a.tenant.id);
    expect((await api("DELETE", `/v1/tenants/${s.b.tenant.id}`, { token: PLATFORM_KEY })).status).toBe(204);
    expect(await count(s.a.tenant.id)).toBe(before);
    expect((await call("GET", "/v1/users/me", { token: s.a.ownerToken })).status).toBe(200);
  });
});
