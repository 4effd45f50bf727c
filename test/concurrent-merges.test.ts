import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, PLATFORM_KEY, userWithToken } from "./helpers";

/*
 * Merge patches never conflict: each is applied by SQL to the row as its batch finds it, so any
 * number of concurrent patches without If-Match all apply, with no retry. If-Match still pins a
 * version: of concurrent patches sent with one tag, exactly one applies and the rest are 412.
 */

const N = 50;

async function all(requests: (() => Promise<Response>)[]) {
  return Promise.all(requests.map(async (send) => (await send()).status));
}

const version = async (table: "users" | "roles" | "tenants", where: string, ...binds: string[]) =>
  (await env.DB.prepare(`SELECT version FROM ${table} WHERE ${where}`).bind(...binds).first<{ version: number }>())!.version;

const updates = async (tenantId: string, userId: string) =>
  (
    await env.DB.prepare("SELECT data FROM events WHERE tenant_id = ? AND type = 'user.updated' AND json_extract(data, '$.user_id') = ?")
      .bind(tenantId, userId)
      .all<{ data: string }>()
  ).results.map((r) => JSON.parse(r.data).fields as string[]);

describe("concurrent merge patches of one user", () => {
  it(`PATCH /v1/users/{id}: ${N} concurrent patches, each adding its own metadata key, all apply`, async () => {
    const f = await createTenant();
    const { user } = await userWithToken(f.tenant.id, { email: "busy@x.test", metadata: { kept: true } });
    const before = await version("users", "id = ?", user.id);
    const statuses = await all(
      Array.from({ length: N }, (_, i) => () => api("PATCH", `/v1/users/${user.id}`, { token: f.ownerToken, body: { metadata: { [`k${i}`]: i } } })),
    );
    expect(statuses).toEqual(Array(N).fill(200));
    const after = await call("GET", `/v1/users/${user.id}`, { token: f.ownerToken });
    expect(after.body.metadata).toEqual({ kept: true, ...Object.fromEntries(Array.from({ length: N }, (_, i) => [`k${i}`, i])) });
    expect(await version("users", "id = ?", user.id)).toBe(before + N);
    expect(await updates(f.tenant.id, user.id)).toEqual(Array(N).fill(["metadata"]));
  });

  it(`PATCH /v1/users/me: ${N} concurrent patches of one's own metadata all apply, with names too`, async () => {
    const f = await createTenant();
    const me = await userWithToken(f.tenant.id, { email: "me@x.test" });
    const statuses = await all(
      Array.from({ length: N }, (_, i) => () =>
        api("PATCH", "/v1/users/me", { token: me.token, body: { first_name: `Name${i}`, metadata: { prefs: { [`p${i}`]: true } } } }),
      ),
    );
    expect(statuses).toEqual(Array(N).fill(200));
    const after = await call("GET", "/v1/users/me", { token: me.token });
    expect(Object.keys(after.body.metadata.prefs).sort()).toEqual(Array.from({ length: N }, (_, i) => `p${i}`).sort());
    expect(after.body.first_name).toMatch(/^Name\d+$/);
  });

  it("concurrent patches of the same value: the first changes it, the others change nothing and write no event", async () => {
    const f = await createTenant();
    const { user } = await userWithToken(f.tenant.id, { email: "same@x.test" });
    const before = await version("users", "id = ?", user.id);
    const statuses = await all(
      Array.from({ length: 10 }, () => () => api("PATCH", `/v1/users/${user.id}`, { token: f.ownerToken, body: { last_name: "Same", metadata: { a: 1 } } })),
    );
    expect(statuses).toEqual(Array(10).fill(200));
    expect(await version("users", "id = ?", user.id)).toBe(before + 1);
    expect(await updates(f.tenant.id, user.id)).toEqual([["last_name", "metadata"]]);
  });

  it("with one If-Match tag, exactly one of concurrent patches applies and the rest are 412", async () => {
    const f = await createTenant();
    const { user } = await userWithToken(f.tenant.id, { email: "pinned@x.test" });
    const tag = (await api("GET", `/v1/users/${user.id}`, { token: f.ownerToken })).headers.get("ETag")!;
    const statuses = await all(
      Array.from({ length: 20 }, (_, i) => () =>
        api("PATCH", `/v1/users/${user.id}`, { token: f.ownerToken, headers: { "If-Match": tag }, body: { metadata: { [`k${i}`]: i } } }),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(19);
    const after = await call("GET", `/v1/users/${user.id}`, { token: f.ownerToken });
    expect(Object.keys(after.body.metadata)).toHaveLength(1);
  });
});

describe("concurrent patches of tenants and roles", () => {
  it(`PATCH /v1/tenants/{id}: ${N} concurrent renames all apply, the last one reached wins`, async () => {
    const f = await createTenant();
    const before = await version("tenants", "id = ?", f.tenant.id);
    const names = Array.from({ length: N }, (_, i) => `Tenant ${i}`);
    const statuses = await all(names.map((name) => () => api("PATCH", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY, body: { name } })));
    expect(statuses).toEqual(Array(N).fill(200));
    expect(await version("tenants", "id = ?", f.tenant.id)).toBe(before + N);
    expect(names).toContain((await call("GET", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY })).body.name);
    const tag = (await api("GET", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY })).headers.get("ETag")!;
    const pinned = await all(
      names.slice(0, 10).map((name) => () => api("PATCH", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY, headers: { "If-Match": tag }, body: { name } })),
    );
    expect(pinned.sort()).toEqual([200, ...Array(9).fill(412)]);
  });

  it(`PATCH /v1/roles/{name}: ${N} concurrent description and permission patches all apply`, async () => {
    const f = await createTenant();
    await call("POST", "/v1/roles", { token: f.ownerToken, body: { name: "TASKS", permissions: ["tasks:read"] } });
    const key = "tenant_id = ? AND name = 'TASKS'";
    const before = await version("roles", key, f.tenant.id);
    const patches = Array.from({ length: N }, (_, i) => (i % 2 ? { description: `d${i}` } : { permissions: ["tasks:read", `tasks:p${i}`] }));
    const statuses = await all(patches.map((body) => () => api("PATCH", "/v1/roles/TASKS", { token: f.ownerToken, body })));
    expect(statuses).toEqual(Array(N).fill(200));
    expect(await version("roles", key, f.tenant.id)).toBe(before + N);
    const role = (await call("GET", "/v1/roles/TASKS", { token: f.ownerToken })).body;
    // Each field holds what one of the patches that named it set.
    expect(patches.map((p) => p.description)).toContain(role.description);
    expect(patches.filter((p) => p.permissions).map((p) => [...p.permissions!].sort())).toContainEqual(role.permissions);
    const tag = (await api("GET", "/v1/roles/TASKS", { token: f.ownerToken })).headers.get("ETag")!;
    const pinned = await all(
      Array.from({ length: 10 }, (_, i) => () => api("PATCH", "/v1/roles/TASKS", { token: f.ownerToken, headers: { "If-Match": tag }, body: { description: `p${i}` } })),
    );
    expect(pinned.sort()).toEqual([200, ...Array(9).fill(412)]);
  });
});
