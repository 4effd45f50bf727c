import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, uniqueSlug, userWithToken } from "./helpers";

afterEach(() => {
  vi.useRealTimers();
});

async function sha256Hex(text: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const keyRow = (id: string) => env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(id).first<Record<string, unknown>>();

async function createKey(token: string, body: Record<string, unknown>, tenant?: string) {
  const res = await call("POST", "/v1/api-keys", { token, body, tenant });
  if (res.status !== 201) throw new Error(`createKey: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string; prefix: string; roles: string[]; tenant_id: string | null; user_id: string | null };
}

describe("POST /v1/api-keys", () => {
  it("201 with the key shown once: up_ + 256 random bits, stored only as its SHA-256", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const res = await call("POST", "/v1/api-keys", { token: ownerToken, body: { name: "ci", roles: ["admin"] } });
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBe(`/v1/api-keys/${res.body.id}`);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^key_/),
      tenant_id: tenant.id,
      user_id: owner.id,
      name: "ci",
      roles: ["admin"],
      prefix: res.body.key.slice(0, 10),
      created_at: expect.any(String),
      expires_at: null,
      key: expect.stringMatching(/^up_[A-Za-z0-9_-]{43}$/),
    });
    const row = (await keyRow(res.body.id))!;
    expect(row.hash).toBe(await sha256Hex(res.body.key));
    for (const value of Object.values(row)) expect(String(value)).not.toContain(res.body.key.slice(10));

    const listed = await call("GET", "/v1/api-keys", { token: ownerToken });
    expect(JSON.stringify(listed.body)).not.toContain(res.body.key.slice(10));
    expect(listed.body.items[0]).not.toHaveProperty("key");
    expect(listed.body.items[0]).not.toHaveProperty("hash");
  });

  it("two keys never share a secret", async () => {
    const { ownerToken } = await createTenant();
    const a = await createKey(ownerToken, { name: "a", roles: [] });
    const b = await createKey(ownerToken, { name: "b", roles: [] });
    expect(a.key).not.toBe(b.key);
  });

  it("needs api_keys:write: a member gets 403 and nothing is created", async () => {
    const { tenant } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    await expectProblem(await api("POST", "/v1/api-keys", { token: member.token, body: { name: "x", roles: [] } }), 403, "forbidden");
    const count = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE tenant_id = ?").bind(tenant.id).first<{ n: number }>();
    expect(count!.n).toBe(0);
  });

  it("422 for unknown roles, a past or malformed expires_at, a missing name and unknown fields", async () => {
    const { ownerToken } = await createTenant();
    const unknown = await expectProblem(await api("POST", "/v1/api-keys", { token: ownerToken, body: { name: "x", roles: ["NOPE"] } }), 422, "validation_failed");
    expect(unknown.errors![0]).toMatchObject({ path: "roles", code: "unknown_role" });
    const past = await expectProblem(
      await api("POST", "/v1/api-keys", { token: ownerToken, body: { name: "x", roles: [], expires_at: "2001-01-01T00:00:00Z" } }),
      422,
      "validation_failed",
    );
    expect(past.errors![0]!.path).toBe("expires_at");
    const bad = await expectProblem(
      await api("POST", "/v1/api-keys", { token: ownerToken, body: { roles: "admin", expires_at: "tomorrow", colour: 1 } }),
      422,
      "validation_failed",
    );
    expect(bad.errors!.map((e) => e.path).sort()).toEqual(["colour", "expires_at", "name", "roles"]);
  });

  it("a replay with the same Idempotency-Key creates nothing and never shows the secret again", async () => {
    const { tenant, ownerToken } = await createTenant();
    const opts = { token: ownerToken, body: { name: "once", roles: [] }, headers: { "Idempotency-Key": "key-once" } };
    const first = await call("POST", "/v1/api-keys", opts);
    const again = await call("POST", "/v1/api-keys", opts);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect(again.body).not.toHaveProperty("key");
    const stored = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE key = 'key-once'").first<{ body: string }>();
    expect(stored!.body).not.toContain(first.body.key);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE tenant_id = ?").bind(tenant.id).first<{ n: number }>();
    expect(count!.n).toBe(1);
  });
});

describe("a tenant API key", () => {
  it("acts with its roles' permissions: an admin key lists every user and creates users", async () => {
    const { tenant, ownerToken } = await createTenant();
    await createUser(tenant.id, { email: "u@x.test" });
    const { key } = await createKey(ownerToken, { name: "admin", roles: ["admin"] });
    const list = await call("GET", "/v1/users", { token: key });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect((await call("POST", "/v1/users", { token: key, body: { email: "new@x.test" } })).status).toBe(201);
  });

  it("a key without permissions sees no users and may not create any; it has no 'me'", async () => {
    const { ownerToken } = await createTenant();
    const { key } = await createKey(ownerToken, { name: "member", roles: ["member"] });
    expect((await call("GET", "/v1/users", { token: key })).body.items).toEqual([]);
    await expectProblem(await api("POST", "/v1/users", { token: key, body: { email: "n@x.test" } }), 403, "forbidden");
    await expectProblem(await api("GET", "/v1/users/me", { token: key }), 403, "forbidden");
  });

  it("acts in its own tenant only, whatever tenant it names", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const { key } = await createKey(a.ownerToken, { name: "admin", roles: ["admin"] });
    const list = await call("GET", "/v1/users", { token: key, tenant: b.tenant.id });
    expect(list.body.items.map((u: { tenant_id: string }) => u.tenant_id)).toEqual([a.tenant.id]);
    await expectProblem(await api("GET", `/v1/users/${b.owner.id}`, { token: key }), 404, "not_found");
  });

  it("follows changes to its roles at once", async () => {
    const { ownerToken } = await createTenant();
    await call("POST", "/v1/roles", { token: ownerToken, body: { name: "READER", permissions: [] } });
    const { key } = await createKey(ownerToken, { name: "reader", roles: ["READER"] });
    await expectProblem(await api("GET", "/v1/permissions/check?permission=users:read", { token: key }), 403, "forbidden");
    await call("PATCH", "/v1/roles/READER", { token: ownerToken, body: { permissions: ["users:read"] } });
    expect((await api("GET", "/v1/permissions/check?permission=users:read", { token: key })).status).toBe(200);
  });

  it("expires: works until expires_at, fails from then on", async () => {
    const { ownerToken } = await createTenant();
    const start = Date.now();
    const expiresAt = new Date(start + 60_000).toISOString();
    const created = await createKey(ownerToken, { name: "short", roles: ["admin"], expires_at: expiresAt });
    expect(created).toMatchObject({ expires_at: expiresAt });
    expect((await api("GET", "/v1/users", { token: created.key })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(start + 60_001);
    await expectProblem(await api("GET", "/v1/users", { token: created.key }), 401, "unauthorized");
  });

  it("stores expires_at given with an offset as UTC", async () => {
    const { ownerToken } = await createTenant();
    const created = await createKey(ownerToken, { name: "tz", roles: [], expires_at: "2099-06-01T12:00:00+02:00" });
    expect(created).toMatchObject({ expires_at: "2099-06-01T10:00:00.000Z" });
  });

  it("dies with the user who created it", async () => {
    const { tenant } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "a@x.test", roles: ["admin"] });
    const { key } = await createKey(admin.token, { name: "mine", roles: ["member"] });
    expect((await api("GET", "/v1/users", { token: key })).status).toBe(200);
    expect((await api("DELETE", `/v1/users/${admin.user.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).status).toBe(204);
    await expectProblem(await api("GET", "/v1/users", { token: key }), 401, "unauthorized");
  });

  it("a key created by a key belongs to no user", async () => {
    const { ownerToken } = await createTenant();
    const parent = await createKey(ownerToken, { name: "parent", roles: ["admin"] });
    const child = await createKey(parent.key, { name: "child", roles: ["member"] });
    expect(child.user_id).toBeNull();
  });
});

describe("GET /v1/api-keys", () => {
  it("lists the tenant's keys oldest first, in cursor and page mode, without secrets", async () => {
    const { ownerToken } = await createTenant();
    const made = [];
    for (const name of ["one", "two", "three"]) made.push(await createKey(ownerToken, { name, roles: [] }));
    const first = await call("GET", "/v1/api-keys?limit=2", { token: ownerToken });
    expect(first.status).toBe(200);
    expect(first.body.items.map((k: { name: string }) => k.name)).toEqual(["one", "two"]);
    const second = await call("GET", `/v1/api-keys?limit=2&cursor=${first.body.next_cursor}`, { token: ownerToken });
    expect(second.body.items.map((k: { name: string }) => k.name)).toEqual(["three"]);
    const page = await call("GET", "/v1/api-keys?page=1&page_size=10", { token: ownerToken });
    expect(page.body).toMatchObject({ total: 3, page: 1, page_size: 10 });
    expect(page.body.items[0]).toEqual({
      id: made[0]!.id,
      tenant_id: made[0]!.tenant_id,
      user_id: made[0]!.user_id,
      name: "one",
      roles: [],
      prefix: made[0]!.prefix,
      created_at: expect.any(String),
      expires_at: null,
    });
  });

  it("needs api_keys:read (member 403); admins may list", async () => {
    const { tenant } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    const admin = await userWithToken(tenant.id, { email: "a@x.test", roles: ["admin"] });
    await expectProblem(await api("GET", "/v1/api-keys", { token: member.token }), 403, "forbidden");
    expect((await api("GET", "/v1/api-keys", { token: admin.token })).status).toBe(200);
  });

  it("never shows another tenant's keys; GET /v1/api-keys/{id} of another tenant is 404", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const inA = await createKey(a.ownerToken, { name: "a-key", roles: [] });
    const listed = await call("GET", "/v1/api-keys", { token: b.ownerToken, tenant: a.tenant.id });
    expect(listed.body.items).toEqual([]);
    await expectProblem(await api("GET", `/v1/api-keys/${inA.id}`, { token: b.ownerToken }), 404, "not_found");
    expect((await call("GET", `/v1/api-keys/${inA.id}`, { token: a.ownerToken })).body.name).toBe("a-key");
  });
});

describe("DELETE /v1/api-keys/{id}", () => {
  it("204, and the key fails at once; a second delete is 404", async () => {
    const { ownerToken } = await createTenant();
    const created = await createKey(ownerToken, { name: "doomed", roles: ["admin"] });
    expect((await api("GET", "/v1/users", { token: created.key })).status).toBe(200);
    expect((await api("DELETE", `/v1/api-keys/${created.id}`, { token: ownerToken })).status).toBe(204);
    await expectProblem(await api("GET", "/v1/users", { token: created.key }), 401, "unauthorized");
    expect(await keyRow(created.id)).toBeNull();
    await expectProblem(await api("DELETE", `/v1/api-keys/${created.id}`, { token: ownerToken }), 404, "not_found");
  });

  it("honours If-Match: the tag from POST or GET matches (a key never changes), any other is a 412 and the key lives", async () => {
    const { ownerToken } = await createTenant();
    const created = await api("POST", "/v1/api-keys", { token: ownerToken, body: { name: "tagged", roles: ["admin"] } });
    const body = (await created.json()) as { id: string; key: string };
    const tag = created.headers.get("ETag")!;
    expect((await api("GET", `/v1/api-keys/${body.id}`, { token: ownerToken })).headers.get("ETag")).toBe(tag);
    await expectProblem(await api("DELETE", `/v1/api-keys/${body.id}`, { token: ownerToken, headers: { "If-Match": '"key-other-1"' } }), 412, "precondition_failed");
    expect((await api("GET", "/v1/users", { token: body.key })).status).toBe(200);
    expect((await api("DELETE", `/v1/api-keys/${body.id}`, { token: ownerToken, headers: { "If-Match": tag } })).status).toBe(204);
  });

  it("a key may revoke itself", async () => {
    const { ownerToken } = await createTenant();
    const created = await createKey(ownerToken, { name: "self", roles: ["admin"] });
    expect((await api("DELETE", `/v1/api-keys/${created.id}`, { token: created.key })).status).toBe(204);
    await expectProblem(await api("GET", "/v1/users", { token: created.key }), 401, "unauthorized");
  });

  it("needs api_keys:write (member 403) and is 404 for another tenant's key, which keeps working", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const created = await createKey(a.ownerToken, { name: "a", roles: ["admin"] });
    const member = await userWithToken(a.tenant.id, { email: "m@x.test" });
    await expectProblem(await api("DELETE", `/v1/api-keys/${created.id}`, { token: member.token }), 403, "forbidden");
    await expectProblem(await api("DELETE", `/v1/api-keys/${created.id}`, { token: b.ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", `/v1/api-keys/${created.id}`, { token: PLATFORM_KEY, tenant: b.tenant.id }), 404, "not_found");
    expect((await api("GET", "/v1/users", { token: created.key })).status).toBe(200);
  });
});

describe("platform keys", () => {
  it("the bootstrap key creates a platform key (no X-Tenant) that manages tenants", async () => {
    const created = await createKey(PLATFORM_KEY, { name: "ops", roles: [] });
    expect(created).toMatchObject({ tenant_id: null, user_id: null, roles: [] });
    const tenant = await call("POST", "/v1/tenants", { token: created.key, body: { slug: uniqueSlug(), name: "Made by a platform key" } });
    expect(tenant.status).toBe(201);
    expect((await call("GET", "/v1/users", { token: created.key, tenant: tenant.body.id })).status).toBe(200);
    // A platform key can mint further platform keys.
    const grandchild = await createKey(created.key, { name: "ops-2", roles: [] });
    expect((await api("GET", "/v1/tenants", { token: grandchild.key })).status).toBe(200);
  });

  it("a platform key carries no roles (422)", async () => {
    const body = await expectProblem(await api("POST", "/v1/api-keys", { token: PLATFORM_KEY, body: { name: "x", roles: ["owner"] } }), 422, "validation_failed");
    expect(body.errors![0]).toMatchObject({ path: "roles", code: "platform_key_roles" });
  });

  it("with X-Tenant, a platform principal creates a key of that tenant", async () => {
    const { tenant } = await createTenant();
    const created = await createKey(PLATFORM_KEY, { name: "t", roles: ["owner"] }, tenant.id);
    expect(created).toMatchObject({ tenant_id: tenant.id, user_id: null, roles: ["owner"] });
    await expectProblem(await api("GET", "/v1/tenants", { token: created.key }), 403, "forbidden");
  });

  it("platform principals list and revoke platform keys; revoked keys fail at once", async () => {
    const created = await createKey(PLATFORM_KEY, { name: "temp", roles: [] });
    const listed = await call("GET", "/v1/api-keys?limit=5000", { token: PLATFORM_KEY });
    expect(listed.body.items.map((k: { id: string }) => k.id)).toContain(created.id);
    expect(listed.body.items.every((k: { tenant_id: string | null }) => k.tenant_id === null)).toBe(true);
    expect((await api("DELETE", `/v1/api-keys/${created.id}`, { token: PLATFORM_KEY })).status).toBe(204);
    await expectProblem(await api("GET", "/v1/tenants", { token: created.key }), 401, "unauthorized");
  });

  it("tenant principals cannot see or revoke platform keys (404)", async () => {
    const { ownerToken } = await createTenant();
    const platformKey = await createKey(PLATFORM_KEY, { name: "hidden", roles: [] });
    const listed = await call("GET", "/v1/api-keys", { token: ownerToken });
    expect(listed.body.items.map((k: { id: string }) => k.id)).not.toContain(platformKey.id);
    await expectProblem(await api("GET", `/v1/api-keys/${platformKey.id}`, { token: ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", `/v1/api-keys/${platformKey.id}`, { token: ownerToken }), 404, "not_found");
    expect((await api("GET", "/v1/tenants", { token: platformKey.key })).status).toBe(200);
  });

  it("a tenant owner cannot mint a platform key: without X-Tenant it gets a key of its own tenant", async () => {
    const { tenant, ownerToken } = await createTenant();
    const created = await createKey(ownerToken, { name: "mine", roles: ["owner"] });
    expect(created.tenant_id).toBe(tenant.id);
    await expectProblem(await api("GET", "/v1/tenants", { token: created.key }), 403, "forbidden");
  });

  it("the bootstrap key cannot be revoked through the API (404) and keeps working", async () => {
    const body = await expectProblem(await api("DELETE", "/v1/api-keys/bootstrap", { token: PLATFORM_KEY }), 404, "not_found");
    expect(body.detail).toMatch(/BOOTSTRAP_API_KEY/);
    expect((await api("GET", "/v1/tenants", { token: PLATFORM_KEY })).status).toBe(200);
  });
});
