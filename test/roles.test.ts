import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

/** Creates a custom role as the platform key (which holds `*`). */
async function defineRole(tenantId: string, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/roles", { token: PLATFORM_KEY, tenant: tenantId, body });
  if (res.status !== 201) throw new Error(`defineRole: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const roleRow = (tenantId: string, name: string) =>
  env.DB.prepare("SELECT * FROM roles WHERE tenant_id = ? AND name = ?").bind(tenantId, name).first<Record<string, unknown>>();

describe("GET /v1/roles", () => {
  it("lists built-in roles with the catalogue's permissions and custom roles, by name", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "TASK-ADMIN", description: "Runs tasks", permissions: ["tasks:admin"] });
    const res = await call("GET", "/v1/roles", { token: ownerToken });
    expect(res.status).toBe(200);
    expect(res.body.items.map((r: { name: string }) => r.name)).toEqual(["TASK-ADMIN", "admin", "member", "owner"]);
    const byName = Object.fromEntries(res.body.items.map((r: { name: string }) => [r.name, r]));
    expect(byName.owner).toMatchObject({ permissions: ["*"], is_builtin: true });
    expect(byName.admin.permissions).toEqual(["users:*", "sessions:*", "api_keys:*", "events:*", "webhooks:*", "roles:read"]);
    expect(byName.member).toMatchObject({ permissions: [], is_builtin: true });
    expect(byName["TASK-ADMIN"]).toEqual({
      name: "TASK-ADMIN",
      description: "Runs tasks",
      permissions: ["tasks:admin"],
      is_builtin: false,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it("is allowed with roles:read (admin) and refused without it (member)", async () => {
    const { tenant } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "a@x.test", roles: ["admin"] });
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    expect((await call("GET", "/v1/roles", { token: admin.token })).status).toBe(200);
    await expectProblem(await api("GET", "/v1/roles", { token: member.token }), 403, "forbidden");
  });

  it("shows only the caller's tenant roles, whatever tenant it names", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await defineRole(a.tenant.id, { name: "ONLY-IN-A", permissions: [] });
    const res = await call("GET", "/v1/roles", { token: b.ownerToken, tenant: a.tenant.id });
    expect(res.status).toBe(200);
    expect(res.body.items.map((r: { name: string }) => r.name)).not.toContain("ONLY-IN-A");
  });

  it("pages by cursor and by page number", async () => {
    const { tenant, ownerToken } = await createTenant();
    for (const name of ["r1", "r2", "r3"]) await defineRole(tenant.id, { name, permissions: [] });
    const first = await call("GET", "/v1/roles?limit=4", { token: ownerToken });
    expect(first.body.items.map((r: { name: string }) => r.name)).toEqual(["admin", "member", "owner", "r1"]);
    const second = await call("GET", `/v1/roles?limit=4&cursor=${first.body.next_cursor}`, { token: ownerToken });
    expect(second.body.items.map((r: { name: string }) => r.name)).toEqual(["r2", "r3"]);
    expect(second.body.next_cursor).toBeNull();
    const page = await call("GET", "/v1/roles?page=2&page_size=2", { token: ownerToken });
    expect(page.body).toMatchObject({ total: 6, page: 2, page_size: 2 });
    expect(page.body.items.map((r: { name: string }) => r.name)).toEqual(["owner", "r1"]);
    await expectProblem(await api("GET", "/v1/roles?limit=2&page=1", { token: ownerToken }), 422, "validation_failed");
  });

  it("refuses a cursor issued for another tenant's list", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const first = await call("GET", "/v1/roles?limit=1", { token: a.ownerToken });
    await expectProblem(await api("GET", `/v1/roles?cursor=${first.body.next_cursor}`, { token: b.ownerToken }), 422, "invalid_cursor");
  });
});

describe("POST /v1/roles", () => {
  it("creates a custom role (201, ETag, Location) with de-duplicated, sorted permissions", async () => {
    const { tenant, ownerToken } = await createTenant();
    const res = await call("POST", "/v1/roles", {
      token: ownerToken,
      body: { name: "CHAT-USER", permissions: ["chat:use", "chat:read", "chat:use"] },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("ETag")).toMatch(/^"rol-.+-\d+"$/);
    expect(res.headers.get("Location")).toBe("/v1/roles/CHAT-USER");
    expect(res.body).toMatchObject({ name: "CHAT-USER", description: null, permissions: ["chat:read", "chat:use"], is_builtin: false });
    expect(await roleRow(tenant.id, "CHAT-USER")).toMatchObject({ permissions: '["chat:read","chat:use"]', is_builtin: 0 });
  });

  it("needs roles:write: an admin (roles:read only) gets 403 and nothing is created", async () => {
    const { tenant } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "a@x.test", roles: ["admin"] });
    const res = await api("POST", "/v1/roles", { token: admin.token, body: { name: "X", permissions: [] } });
    await expectProblem(res, 403, "forbidden");
    expect(await roleRow(tenant.id, "X")).toBeNull();
  });

  it("409 for a taken name, 409 role_builtin for a built-in name", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "DUP", permissions: [] });
    const dup = await expectProblem(await api("POST", "/v1/roles", { token: ownerToken, body: { name: "DUP", permissions: ["a:b"] } }), 409, "conflict");
    expect(dup.errors![0]!.path).toBe("name");
    await expectProblem(await api("POST", "/v1/roles", { token: ownerToken, body: { name: "owner", permissions: [] } }), 409, "role_builtin");
    expect((await roleRow(tenant.id, "DUP"))!.permissions).toBe("[]");
  });

  it("the same name in two tenants is two unrelated roles", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await defineRole(a.tenant.id, { name: "SAME", permissions: ["a:x"] });
    const res = await call("POST", "/v1/roles", { token: b.ownerToken, body: { name: "SAME", permissions: ["b:y"] } });
    expect(res.status).toBe(201);
    expect((await roleRow(a.tenant.id, "SAME"))!.permissions).toBe('["a:x"]');
  });

  it("422 names every bad field: name, permissions, unknown fields, missing permissions", async () => {
    const { ownerToken } = await createTenant();
    const res = await api("POST", "/v1/roles", {
      token: ownerToken,
      body: { name: "bad name!", permissions: ["nocolon", "a:b:c", "*:x", "ok:fine"], colour: "red" },
    });
    const body = await expectProblem(res, 422, "validation_failed");
    expect(body.errors!.map((e) => e.path).sort()).toEqual(["colour", "name", "permissions.0", "permissions.1", "permissions.2"]);
    const missing = await expectProblem(await api("POST", "/v1/roles", { token: ownerToken, body: { name: "NOPERMS" } }), 422, "validation_failed");
    expect(missing.errors!.map((e) => e.path)).toEqual(["permissions"]);
    const long = await api("POST", "/v1/roles", { token: ownerToken, body: { name: "x".repeat(65), permissions: [] } });
    await expectProblem(long, 422, "validation_failed");
  });

  it("accepts names of the full alphabet A-Z a-z 0-9 . _ : -", async () => {
    const { ownerToken } = await createTenant();
    const name = "Team.Lead_2:ops-x";
    const res = await call("POST", "/v1/roles", { token: ownerToken, body: { name, permissions: ["tasks:*"] } });
    expect(res.status).toBe(201);
    expect((await call("GET", `/v1/roles/${name}`, { token: ownerToken })).body.name).toBe(name);
  });

  it("honours Idempotency-Key: a retry replays the first answer", async () => {
    const { ownerToken } = await createTenant();
    const opts = { token: ownerToken, body: { name: "ONCE", permissions: [] }, headers: { "Idempotency-Key": "role-once" } };
    const first = await call("POST", "/v1/roles", opts);
    const again = await call("POST", "/v1/roles", opts);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
  });
});

describe("GET /v1/roles/{name}", () => {
  it("returns the role with its ETag; 404 for an unknown name", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "READER", permissions: ["docs:read"] });
    const res = await call("GET", "/v1/roles/READER", { token: ownerToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("ETag")).toMatch(/^"rol-.+-\d+"$/);
    expect(res.body.permissions).toEqual(["docs:read"]);
    await expectProblem(await api("GET", "/v1/roles/NOPE", { token: ownerToken }), 404, "not_found");
  });

  it("a member without roles:read gets 403", async () => {
    const { tenant } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    await expectProblem(await api("GET", "/v1/roles/owner", { token: member.token }), 403, "forbidden");
  });

  it("a role of another tenant is 404", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await defineRole(a.tenant.id, { name: "A-ONLY", permissions: [] });
    await expectProblem(await api("GET", "/v1/roles/A-ONLY", { token: b.ownerToken }), 404, "not_found");
    await expectProblem(await api("GET", "/v1/roles/A-ONLY", { token: b.ownerToken, tenant: a.tenant.id }), 404, "not_found");
  });
});

describe("PATCH /v1/roles/{name}", () => {
  it("changes description and permissions; holders act with the new permissions at once", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "TASKER", description: "old", permissions: ["tasks:read"] });
    const created = (await call("GET", "/v1/roles/TASKER", { token: ownerToken })).headers.get("ETag")!;
    const holder = await userWithToken(tenant.id, { email: "h@x.test", roles: ["TASKER"] });
    await expectProblem(await api("GET", "/v1/permissions/check?permission=tasks:admin", { token: holder.token }), 403, "forbidden");

    const res = await call("PATCH", "/v1/roles/TASKER", {
      token: ownerToken,
      body: { description: null, permissions: ["tasks:admin", "tasks:read"] },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(res.status).toBe(200);
    // The version counts on by one from the role's first.
    expect(res.headers.get("ETag")).toBe(created.replace(/-(\d+)"$/, (_, v: string) => `-${Number(v) + 1}"`));
    expect(res.body).toMatchObject({ description: null, permissions: ["tasks:admin", "tasks:read"] });
    expect((await call("GET", "/v1/permissions/check?permission=tasks:admin", { token: holder.token })).status).toBe(200);
  });

  it("only present fields change", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "KEEP", description: "keep me", permissions: ["a:b"] });
    const res = await call("PATCH", "/v1/roles/KEEP", { token: ownerToken, body: { permissions: ["a:c"] } });
    expect(res.body).toMatchObject({ description: "keep me", permissions: ["a:c"] });
  });

  it("honours If-Match: a stale tag is 412 and changes nothing, the current one works", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "EDIT", permissions: ["a:b"] });
    const read = await call("GET", "/v1/roles/EDIT", { token: ownerToken });
    const etag = read.headers.get("ETag")!;
    await call("PATCH", "/v1/roles/EDIT", { token: ownerToken, body: { description: "first" } });
    const stale = await api("PATCH", "/v1/roles/EDIT", { token: ownerToken, body: { description: "second" }, headers: { "If-Match": etag } });
    await expectProblem(stale, 412, "precondition_failed");
    expect((await roleRow(tenant.id, "EDIT"))!.description).toBe("first");
    const fresh = (await call("GET", "/v1/roles/EDIT", { token: ownerToken })).headers.get("ETag")!;
    const ok = await call("PATCH", "/v1/roles/EDIT", { token: ownerToken, body: { description: "second" }, headers: { "If-Match": fresh } });
    expect(ok.status).toBe(200);
  });

  it("a tag of a deleted role does not match the role made again under its name", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "AGAIN", permissions: ["a:b"] });
    const old = (await call("GET", "/v1/roles/AGAIN", { token: ownerToken })).headers.get("ETag")!;
    expect((await api("DELETE", "/v1/roles/AGAIN", { token: ownerToken, headers: { "If-Match": old } })).status).toBe(204);
    await defineRole(tenant.id, { name: "AGAIN", permissions: ["c:d"] });
    const now = (await call("GET", "/v1/roles/AGAIN", { token: ownerToken })).headers.get("ETag")!;
    expect(now).not.toBe(old);
    for (const method of ["PATCH", "DELETE"] as const) {
      const res = await api(method, "/v1/roles/AGAIN", { token: ownerToken, headers: { "If-Match": old }, ...(method === "PATCH" ? { body: { description: "x" } } : {}) });
      await expectProblem(res, 412, "precondition_failed");
    }
    expect(await roleRow(tenant.id, "AGAIN")).toMatchObject({ description: null });
  });

  it("built-in roles cannot change: 409 role_builtin, even for the owner", async () => {
    const { tenant, ownerToken } = await createTenant();
    for (const name of ["owner", "admin", "member"]) {
      await expectProblem(await api("PATCH", `/v1/roles/${name}`, { token: ownerToken, body: { permissions: ["*"] } }), 409, "role_builtin");
    }
    await expectProblem(await api("PATCH", "/v1/roles/member", { token: PLATFORM_KEY, tenant: tenant.id, body: { description: "x" } }), 409, "role_builtin");
    expect((await roleRow(tenant.id, "member"))!.permissions).toBe("[]");
  });

  it("needs roles:write (admin 403), refuses renames (422) and is 404 across tenants", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await defineRole(a.tenant.id, { name: "R", permissions: [] });
    const admin = await userWithToken(a.tenant.id, { email: "a@x.test", roles: ["admin"] });
    await expectProblem(await api("PATCH", "/v1/roles/R", { token: admin.token, body: { description: "x" } }), 403, "forbidden");
    const rename = await expectProblem(await api("PATCH", "/v1/roles/R", { token: a.ownerToken, body: { name: "S" } }), 422, "validation_failed");
    expect(rename.errors![0]).toMatchObject({ path: "name", code: "unrecognized_key" });
    await expectProblem(await api("PATCH", "/v1/roles/R", { token: b.ownerToken, body: { description: "x" } }), 404, "not_found");
    expect((await roleRow(a.tenant.id, "R"))!.description).toBeNull();
  });
});

describe("DELETE /v1/roles/{name}", () => {
  it("deletes an unused custom role (204), after which it is 404", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "GONE", permissions: [] });
    expect((await api("DELETE", "/v1/roles/GONE", { token: ownerToken })).status).toBe(204);
    expect(await roleRow(tenant.id, "GONE")).toBeNull();
    await expectProblem(await api("GET", "/v1/roles/GONE", { token: ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", "/v1/roles/GONE", { token: ownerToken }), 404, "not_found");
  });

  it("409 role_in_use while a user holds it; deletable once the grant is gone", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "HELD", permissions: ["x:y"] });
    const holder = await userWithToken(tenant.id, { email: "h@x.test", roles: ["HELD"] });
    await expectProblem(await api("DELETE", "/v1/roles/HELD", { token: ownerToken }), 409, "role_in_use");
    expect(await roleRow(tenant.id, "HELD")).not.toBeNull();
    const patched = await call("PATCH", `/v1/users/${holder.user.id}`, { token: ownerToken, body: { roles: ["member"] } });
    expect(patched.status).toBe(200);
    expect((await api("DELETE", "/v1/roles/HELD", { token: ownerToken })).status).toBe(204);
  });

  it("409 role_in_use while a live API key holds it", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, { name: "KEYED", permissions: ["x:y"] });
    const key = await call("POST", "/v1/api-keys", { token: ownerToken, body: { name: "k", roles: ["KEYED"] } });
    expect(key.status).toBe(201);
    await expectProblem(await api("DELETE", "/v1/roles/KEYED", { token: ownerToken }), 409, "role_in_use");
    expect((await api("DELETE", `/v1/api-keys/${key.body.id}`, { token: ownerToken })).status).toBe(204);
    expect((await api("DELETE", "/v1/roles/KEYED", { token: ownerToken })).status).toBe(204);
    expect(await roleRow(tenant.id, "KEYED")).toBeNull();
  });

  it("built-in roles cannot be deleted (409 role_builtin)", async () => {
    const { tenant, ownerToken } = await createTenant();
    for (const name of ["owner", "admin", "member"]) {
      await expectProblem(await api("DELETE", `/v1/roles/${name}`, { token: ownerToken }), 409, "role_builtin");
      expect(await roleRow(tenant.id, name)).not.toBeNull();
    }
  });

  it("needs roles:write (admin 403), honours If-Match, and is 404 across tenants", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await defineRole(a.tenant.id, { name: "R", permissions: [] });
    const admin = await userWithToken(a.tenant.id, { email: "a@x.test", roles: ["admin"] });
    await expectProblem(await api("DELETE", "/v1/roles/R", { token: admin.token }), 403, "forbidden");
    await expectProblem(await api("DELETE", "/v1/roles/R", { token: b.ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", "/v1/roles/R", { token: a.ownerToken, headers: { "If-Match": '"rol-R-9"' } }), 412, "precondition_failed");
    expect(await roleRow(a.tenant.id, "R")).not.toBeNull();
    const etag = (await call("GET", "/v1/roles/R", { token: a.ownerToken })).headers.get("ETag")!;
    expect((await api("DELETE", "/v1/roles/R", { token: a.ownerToken, headers: { "If-Match": etag } })).status).toBe(204);
  });
});

describe("roles in the OpenAPI document", () => {
  it("documents every roles and permissions route", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    expect(Object.keys(doc.paths["/v1/roles"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/v1/roles/{name}"]).sort()).toEqual(["delete", "get", "patch"]);
    expect(doc.paths["/v1/permissions/check"].get.summary).toBeTruthy();
    expect(doc.paths["/v1/roles/{name}"].delete.description).toMatch(/role_in_use/);
  });
});
