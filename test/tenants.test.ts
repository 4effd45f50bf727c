import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, tokenFor, uniqueSlug } from "./helpers";

const platform = { token: PLATFORM_KEY };

describe("POST /v1/tenants", () => {
  it("creates a tenant with the built-in roles and an ETag", async () => {
    const slug = uniqueSlug();
    const res = await call("POST", "/v1/tenants", { ...platform, body: { slug, name: "Acme" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("ETag")).toMatch(/^"[^"]+"$/);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^ten_[0-9a-z]{26}$/),
      slug,
      name: "Acme",
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      updated_at: expect.any(String),
    });
    const roles = await env.DB.prepare("SELECT name FROM roles WHERE tenant_id = ? ORDER BY name").bind(res.body.id).all<{ name: string }>();
    expect(roles.results.map((r) => r.name)).toEqual(["admin", "member", "owner"]);
    const users = await call("GET", "/v1/users", { ...platform, tenant: res.body.id });
    expect(users.body.items).toEqual([]);
  });

  it("creates the first owner with the owner role when the body names one", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const me = await call("GET", "/v1/users/me", { token: ownerToken });
    expect(me.body).toMatchObject({ id: owner.id, tenant_id: tenant.id, roles: ["owner"], has_password: true, is_active: true });
  });

  it("an owner without a password has no password", async () => {
    const slug = uniqueSlug();
    const res = await call("POST", "/v1/tenants", { ...platform, body: { slug, name: "NoPw", owner: { email: "o@np.test", first_name: "Olga" } } });
    expect(res.status).toBe(201);
    const users = await call("GET", "/v1/users", { ...platform, tenant: slug });
    expect(users.body.items[0]).toMatchObject({ email: "o@np.test", first_name: "Olga", roles: ["owner"], has_password: false });
  });

  it("a taken slug is a 409 and creates nothing", async () => {
    const { tenant } = await createTenant();
    const res = await api("POST", "/v1/tenants", { ...platform, body: { slug: tenant.slug, name: "Copy", owner: { email: "x@copy.test" } } });
    const problem = await expectProblem(res, 409, "conflict");
    expect(problem.errors?.[0]?.path).toBe("slug");
    const count = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = 'x@copy.test'").first<{ n: number }>();
    expect(count!.n).toBe(0);
  });

  it("invalid bodies are 422 naming each field", async () => {
    const res = await api("POST", "/v1/tenants", {
      ...platform,
      body: { slug: "Not A Slug", name: "", owner: { email: "nope", password: "short" }, plan: "gold" },
    });
    const problem = await expectProblem(res, 422, "validation_failed");
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(["name", "owner.email", "owner.password", "plan", "slug"]);
    for (const slug of ["-lead", ".dot", "_under", "a".repeat(65), "has space", "ünï", "", "ten_0123456789", "TEN_x", "a/b"]) {
      await expectProblem(await api("POST", "/v1/tenants", { ...platform, body: { slug, name: "x" } }), 422, "validation_failed");
    }
    await expectProblem(await api("POST", "/v1/tenants", { ...platform, body: { name: "x" } }), 422, "validation_failed");
    // A temporary owner password needs a password.
    const temp = await api("POST", "/v1/tenants", { ...platform, body: { slug: uniqueSlug(), name: "x", owner: { email: "o@x.test", temporary_password: true } } });
    expect((await expectProblem(temp, 422, "validation_failed")).errors!.map((e) => e.path)).toEqual(["owner.temporary_password"]);
    const both = await api("POST", "/v1/tenants", { ...platform, body: { slug: uniqueSlug(), name: "", owner: { email: "o@x.test", temporary_password: true } } });
    expect((await expectProblem(both, 422, "validation_failed")).errors!.map((e) => e.path).sort()).toEqual(["name", "owner.temporary_password"]);
  });

  it("takes slugs of letters, digits, '.', '_' and '-' up to 64, as given; a case variant of a taken slug is a 409", async () => {
    const base = uniqueSlug();
    for (const slug of [`${base}_Under.Dot-1`, `T${base}`.slice(0, 64).padEnd(64, "x"), `${base}-trail-`]) {
      const res = await call("POST", "/v1/tenants", { ...platform, body: { slug, name: "x" } });
      expect(res.status, slug).toBe(201);
      expect(res.body.slug).toBe(slug);
      expect((await call("GET", `/v1/tenants/${slug.toLowerCase()}`, platform)).body.id).toBe(res.body.id);
    }
    const dup = await api("POST", "/v1/tenants", { ...platform, body: { slug: `${base}_under.dot-1`.toUpperCase(), name: "x" } });
    await expectProblem(dup, 409, "conflict");
  });

  it("records a platform-level tenant.created event", async () => {
    const res = await call("POST", "/v1/tenants", { ...platform, body: { slug: uniqueSlug(), name: "x" } });
    const events = await call("GET", "/v1/events?type=tenant.created&limit=5000", { token: PLATFORM_KEY });
    expect(events.body.items.map((e: { data: { tenant_id: string } }) => e.data.tenant_id)).toContain(res.body.id);
  });

  it("needs a platform principal: 401 without credentials, 403 for a tenant owner", async () => {
    const { ownerToken } = await createTenant();
    const body = { slug: uniqueSlug(), name: "x" };
    await expectProblem(await api("POST", "/v1/tenants", { body }), 401, "unauthorized");
    await expectProblem(await api("POST", "/v1/tenants", { token: ownerToken, body }), 403, "forbidden");
    expect((await api("GET", `/v1/tenants/${body.slug}`, platform)).status).toBe(404);
  });
});

describe("GET /v1/tenants", () => {
  it("lists tenants in both pagination modes; cursor pages cover every tenant once", async () => {
    const mine = [await createTenant(), await createTenant(), await createTenant()].map((t) => t.tenant.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const res = await call("GET", `/v1/tenants${q}`, platform);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((t: { id: string }) => t.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(mine));

    const page = await call("GET", "/v1/tenants?page=1&page_size=2", platform);
    expect(page.body).toMatchObject({ total: seen.length, page: 1, page_size: 2 });
    expect(page.body.items.map((t: { id: string }) => t.id)).toEqual(seen.slice(0, 2));
  });

  it("mixing modes and bad limits are 422", async () => {
    await expectProblem(await api("GET", "/v1/tenants?limit=2&page=1", platform), 422, "validation_failed");
    for (const q of ["limit=0", "limit=5001", "limit=-1", "limit=abc", "page=0", "page_size=0"]) {
      await expectProblem(await api("GET", `/v1/tenants?${q}`, platform), 422, "validation_failed");
    }
    await expectProblem(await api("GET", "/v1/tenants?cursor=garbage", platform), 422, "invalid_cursor");
  });

  it("is refused to tenant principals", async () => {
    const { ownerToken } = await createTenant();
    await expectProblem(await api("GET", "/v1/tenants", { token: ownerToken }), 403, "forbidden");
  });
});

describe("GET /v1/tenants/{id}", () => {
  it("reads a tenant by id or by slug, with an ETag", async () => {
    const { tenant } = await createTenant();
    for (const ref of [tenant.id, tenant.slug, tenant.slug.toUpperCase()]) {
      const res = await call("GET", `/v1/tenants/${ref}`, platform);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: tenant.id, slug: tenant.slug });
      expect(res.headers.get("ETag")).toBeTruthy();
    }
  });

  it("a tenant principal reads its own tenant; another tenant is a 404", async () => {
    const a = await createTenant();
    const b = await createTenant();
    expect((await call("GET", `/v1/tenants/${a.tenant.id}`, { token: a.ownerToken })).status).toBe(200);
    await expectProblem(await api("GET", `/v1/tenants/${b.tenant.id}`, { token: a.ownerToken }), 404, "not_found");
    await expectProblem(await api("GET", `/v1/tenants/${b.tenant.slug}`, { token: a.ownerToken }), 404, "not_found");
  });

  it("an unknown tenant is a 404", async () => {
    await expectProblem(await api("GET", "/v1/tenants/ten_00000000000000000000000000", platform), 404, "not_found");
  });
});

describe("PATCH /v1/tenants/{id}", () => {
  it("changes only the fields present", async () => {
    const { tenant } = await createTenant("Before");
    const res = await call("PATCH", `/v1/tenants/${tenant.id}`, { ...platform, body: { name: "After" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: tenant.id, slug: tenant.slug, name: "After" });
    expect(res.body.updated_at >= res.body.created_at).toBe(true);
    const slug = uniqueSlug("renamed");
    const renamed = await call("PATCH", `/v1/tenants/${tenant.id}`, { ...platform, body: { slug } });
    expect(renamed.body).toMatchObject({ slug, name: "After" });
    expect((await call("GET", `/v1/tenants/${slug}`, platform)).body.id).toBe(tenant.id);
  });

  it("accepts application/merge-patch+json", async () => {
    const { tenant } = await createTenant();
    const res = await call("PATCH", `/v1/tenants/${tenant.id}`, {
      ...platform,
      body: { name: "Merge" },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe("Merge");
  });

  it("a slug taken by another tenant is a 409 that changes nothing", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await expectProblem(await api("PATCH", `/v1/tenants/${a.tenant.id}`, { ...platform, body: { slug: b.tenant.slug, name: "Z" } }), 409, "conflict");
    expect((await call("GET", `/v1/tenants/${a.tenant.id}`, platform)).body).toMatchObject({ slug: a.tenant.slug, name: "Test" });
    // A value that reads like another database error does not change which error it is.
    const odd = await api("PATCH", `/v1/tenants/${a.tenant.id}`, { ...platform, body: { slug: b.tenant.slug, name: "last_owner FOREIGN KEY" } });
    expect((await expectProblem(odd, 409, "conflict")).errors?.[0]?.path).toBe("slug");
  });

  it("bad values are 422; a tenant owner gets 403; unknown is 404", async () => {
    const { tenant, ownerToken } = await createTenant();
    await expectProblem(await api("PATCH", `/v1/tenants/${tenant.id}`, { ...platform, body: { name: "" } }), 422, "validation_failed");
    await expectProblem(await api("PATCH", `/v1/tenants/${tenant.id}`, { ...platform, body: { id: "ten_x" } }), 422, "validation_failed");
    await expectProblem(await api("PATCH", `/v1/tenants/${tenant.id}`, { token: ownerToken, body: { name: "Mine" } }), 403, "forbidden");
    await expectProblem(await api("PATCH", "/v1/tenants/no-such", { ...platform, body: { name: "x" } }), 404, "not_found");
    expect((await call("GET", `/v1/tenants/${tenant.id}`, platform)).body.name).toBe("Test");
  });
});

describe("DELETE /v1/tenants/{id}", () => {
  it("removes the tenant and everything in it", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "member@del.test" });
    const userToken = await tokenFor(tenant.id, user.id);
    const res = await api("DELETE", `/v1/tenants/${tenant.id}`, platform);
    expect(res.status).toBe(204);
    await expectProblem(await api("GET", `/v1/tenants/${tenant.id}`, platform), 404, "not_found");
    await expectProblem(await api("GET", "/v1/users", { ...platform, tenant: tenant.id }), 404, "not_found");
    await expectProblem(await api("GET", "/v1/users/me", { token: ownerToken }), 401, "unauthorized");
    await expectProblem(await api("GET", "/v1/users/me", { token: userToken }), 401, "unauthorized");
    for (const table of ["users", "sessions", "user_roles", "roles"]) {
      const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`).bind(tenant.id).first<{ n: number }>();
      expect(row!.n, table).toBe(0);
    }
    const listed = await call("GET", "/v1/tenants?limit=5000", platform);
    expect(listed.body.items.map((t: { id: string }) => t.id)).not.toContain(tenant.id);
  });

  it("frees the slug for a new tenant", async () => {
    const { tenant } = await createTenant();
    expect((await api("DELETE", `/v1/tenants/${tenant.id}`, platform)).status).toBe(204);
    const again = await call("POST", "/v1/tenants", { ...platform, body: { slug: tenant.slug, name: "Reborn" } });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(tenant.id);
  });

  it("leaves other tenants untouched", async () => {
    const a = await createTenant();
    const b = await createTenant();
    expect((await api("DELETE", `/v1/tenants/${a.tenant.id}`, platform)).status).toBe(204);
    const me = await call("GET", "/v1/users/me", { token: b.ownerToken });
    expect(me.status).toBe(200);
    expect((await call("GET", `/v1/tenants/${b.tenant.id}`, platform)).status).toBe(200);
  });

  it("is refused to a tenant owner, and an unknown tenant is a 404", async () => {
    const { tenant, ownerToken } = await createTenant();
    await expectProblem(await api("DELETE", `/v1/tenants/${tenant.id}`, { token: ownerToken }), 403, "forbidden");
    expect((await call("GET", `/v1/tenants/${tenant.id}`, platform)).status).toBe(200);
    await expectProblem(await api("DELETE", "/v1/tenants/ten_00000000000000000000000000", platform), 404, "not_found");
  });
});
