import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";
import { createWebhook, HOOKS } from "./webhooks-receiver";

const URL_A = `${HOOKS}/routes-a`;
const endpointRow = (id: string) => env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").bind(id).first<Record<string, unknown>>();
const countEndpoints = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM webhook_endpoints WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

describe("POST /v1/webhooks", () => {
  it("201: an enabled endpoint for every event type by default, with a whsec_ secret of 32 random bytes shown once", async () => {
    const { ownerToken } = await createTenant();
    const res = await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("Location")).toBe(`/v1/webhooks/${res.body.id}`);
    expect(res.headers.get("ETag")).toMatch(/^"whk-/);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^whk_[0-9a-z]{26}$/),
      url: URL_A,
      events: ["*"],
      description: null,
      enabled: true,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(atob(res.body.secret.slice(6)).length).toBeGreaterThanOrEqual(24);
    const again = await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } });
    expect(again.body.secret).not.toBe(res.body.secret);
  });

  it("keeps the secret encrypted: no D1 column holds it", async () => {
    const { ownerToken } = await createTenant();
    const created = await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } });
    const row = (await endpointRow(created.body.id))!;
    const secretBase64 = created.body.secret.slice(6);
    for (const value of Object.values(row)) {
      expect(String(value)).not.toContain(secretBase64);
      expect(String(value)).not.toContain(secretBase64.slice(0, 16));
    }
    expect(String(row.secret)).toMatch(/^v1\./);
  });

  it("takes events and description; * stands for all and duplicates are dropped", async () => {
    const { ownerToken } = await createTenant();
    const res = await call("POST", "/v1/webhooks", {
      token: ownerToken,
      body: { url: URL_A, events: ["user.deleted", "user.created", "user.deleted"], description: "mailer" },
    });
    expect(res.status).toBe(201);
    expect(res.body.events).toEqual(["user.deleted", "user.created"]);
    expect(res.body.description).toBe("mailer");
    const star = await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A, events: ["user.created", "*"] } });
    expect(star.body.events).toEqual(["*"]);
  });

  it("422 naming every bad field; nothing is created", async () => {
    const { tenant, ownerToken } = await createTenant();
    const cases: [unknown, string[]][] = [
      [{}, ["url"]],
      [{ url: 42 }, ["url"]],
      [{ url: URL_A, events: [] }, ["events"]],
      [{ url: URL_A, events: "user.created" }, ["events"]],
      [{ url: URL_A, events: ["user.exploded"] }, ["events.0"]],
      [{ url: URL_A, events: ["webhook.test"] }, ["events.0"]],
      [{ url: URL_A, events: ["user.created", 7] }, ["events.1"]],
      [{ url: URL_A, description: "x".repeat(501) }, ["description"]],
      [{ url: URL_A, description: 5 }, ["description"]],
      [{ url: URL_A, enabled: false }, ["enabled"]],
      [{ url: URL_A, secret: "whsec_mine" }, ["secret"]],
      [{ url: `https://example.com/${"x".repeat(2048)}` }, ["url"]],
      [{ url: "ftp://example.com/x", events: ["nope"], extra: 1 }, ["events.0", "extra", "url"]],
      // The deployment's own rules (https only, no loopback) are named alongside the others.
      [{ url: "http://example.com/x", events: ["nope"] }, ["events.0", "url"]],
      [{ url: "https://localhost/x", description: 5 }, ["description", "url"]],
    ];
    for (const [body, paths] of cases) {
      const res = await api("POST", "/v1/webhooks", { token: ownerToken, body });
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(problem.errors!.map((e) => e.path).sort(), JSON.stringify(body)).toEqual(paths);
    }
    const test = await expectProblem(await api("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A, events: ["webhook.test"] } }), 422, "validation_failed");
    expect(test.errors![0]!.message).toContain("webhook.test");
    for (const body of ["{", "[]", "null"]) {
      const res = await api("POST", "/v1/webhooks", { token: ownerToken, body });
      expect([400, 422]).toContain(res.status);
    }
    expect(await countEndpoints(tenant.id)).toBe(0);
  });

  it("an Idempotency-Key replay answers the same endpoint without the secret, and creates nothing more", async () => {
    const { tenant, ownerToken } = await createTenant();
    const opts = { token: ownerToken, body: { url: URL_A }, headers: { "Idempotency-Key": "hook-1" } };
    const first = await call("POST", "/v1/webhooks", opts);
    const replay = await call("POST", "/v1/webhooks", opts);
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    const { secret, ...rest } = first.body;
    expect(secret).toMatch(/^whsec_/);
    expect(replay.body).toEqual(rest);
    expect(await countEndpoints(tenant.id)).toBe(1);
    const stored = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE tenant_id = ?").bind(tenant.id).first<{ body: string }>();
    expect(stored!.body).not.toContain(secret.slice(6, 20));
    await expectProblem(await api("POST", "/v1/webhooks", { ...opts, body: { url: `${URL_A}/other` } }), 422, "idempotency_key_reused");
  });

  it("without WEBHOOK_SECRET_KEY a generated key seals secrets; a key set too short is a 503 that creates nothing", async () => {
    const { tenant, ownerToken } = await createTenant();
    const app = createApp();
    const send = (path: string, keyEnv: Record<string, unknown>, body?: unknown) =>
      app.fetch(
        new Request(`http://userplane.test${path}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${ownerToken}`, "Content-Type": "application/json" },
          body: JSON.stringify(body ?? {}),
        }),
        { ...env, ...keyEnv },
        createExecutionContext(),
      );
    const short = await send("/v1/webhooks", { WEBHOOK_SECRET_KEY: "too-short" }, { url: URL_A });
    expect((await expectProblem(short, 503, "service_unavailable")).detail).toContain("WEBHOOK_SECRET_KEY");
    expect(await countEndpoints(tenant.id)).toBe(0);
    for (const unset of [{ WEBHOOK_SECRET_KEY: undefined }, { WEBHOOK_SECRET_KEY: "" }]) {
      const created = await send("/v1/webhooks", unset, { url: URL_A });
      expect(created.status).toBe(201);
      const { id, secret } = (await created.json()) as { id: string; secret: string };
      const sealed = (await env.DB.prepare("SELECT secret FROM webhook_endpoints WHERE id = ?").bind(id).first<{ secret: string }>())!.secret;
      expect(sealed).toMatch(/^v1\./);
      expect(sealed).not.toContain(secret.slice(6));
      // Rotating opens the sealed secret to keep it as the previous one: the generated key is kept.
      expect((await send(`/v1/webhooks/${id}/rotate-secret`, unset)).status).toBe(200);
    }
    expect(await countEndpoints(tenant.id)).toBe(2);
  });
});

describe("permissions and tenants", () => {
  it("admin holds webhooks:read and webhooks:write; a member gets 403 on every route", async () => {
    const { tenant } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "admin@x.test", roles: ["admin"] });
    const member = await userWithToken(tenant.id, { email: "member@x.test" });
    const created = await call("POST", "/v1/webhooks", { token: admin.token, body: { url: URL_A } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await call("GET", `/v1/webhooks/${id}`, { token: admin.token })).status).toBe(200);
    for (const [method, path, body] of [
      ["GET", "/v1/webhooks", undefined],
      ["POST", "/v1/webhooks", { url: URL_A }],
      ["GET", `/v1/webhooks/${id}`, undefined],
      ["PATCH", `/v1/webhooks/${id}`, { description: "x" }],
      ["DELETE", `/v1/webhooks/${id}`, undefined],
      ["POST", `/v1/webhooks/${id}/rotate-secret`, undefined],
      ["POST", `/v1/webhooks/${id}/test`, undefined],
      ["GET", `/v1/webhooks/${id}/deliveries`, undefined],
      ["POST", `/v1/webhooks/${id}/deliveries/whd_x/retry`, undefined],
    ] as const) {
      await expectProblem(await api(method, path, { token: member.token, body }), 403, "forbidden");
    }
    expect((await endpointRow(id))!.description).toBeNull();
  });

  it("webhooks:read alone reads but cannot write", async () => {
    const { tenant, ownerToken } = await createTenant();
    await call("POST", "/v1/roles", { token: ownerToken, body: { name: "hook-reader", permissions: ["webhooks:read"] } });
    const reader = await userWithToken(tenant.id, { email: "r@x.test", roles: ["hook-reader"] });
    const hook = await createWebhook(tenant.id, { url: URL_A });
    expect((await call("GET", "/v1/webhooks", { token: reader.token })).body.items.map((w: { id: string }) => w.id)).toEqual([hook.id]);
    expect((await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { token: reader.token })).status).toBe(200);
    await expectProblem(await api("POST", "/v1/webhooks", { token: reader.token, body: { url: URL_A } }), 403, "forbidden");
    await expectProblem(await api("PATCH", `/v1/webhooks/${hook.id}`, { token: reader.token, body: { enabled: false } }), 403, "forbidden");
  });

  it("another tenant's endpoint is a 404 on every route, exactly as if it did not exist", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const hook = await createWebhook(a.tenant.id, { url: URL_A });
    for (const [method, path, body] of [
      ["GET", `/v1/webhooks/${hook.id}`, undefined],
      ["PATCH", `/v1/webhooks/${hook.id}`, { description: "mine now" }],
      ["DELETE", `/v1/webhooks/${hook.id}`, undefined],
      ["POST", `/v1/webhooks/${hook.id}/rotate-secret`, undefined],
      ["POST", `/v1/webhooks/${hook.id}/test`, undefined],
      ["GET", `/v1/webhooks/${hook.id}/deliveries`, undefined],
    ] as const) {
      await expectProblem(await api(method, path, { token: b.ownerToken, body }), 404, "not_found");
    }
    expect((await call("GET", "/v1/webhooks", { token: b.ownerToken })).body.items).toEqual([]);
    const row = (await endpointRow(hook.id))!;
    expect(row.description).toBeNull();
    expect(row.version).toBe(1);
  });

  it("a platform key acts in the tenant named by X-Tenant, and must name one", async () => {
    const { tenant } = await createTenant();
    const hook = await createWebhook(tenant.id, { url: URL_A });
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).status).toBe(200);
    await expectProblem(await api("GET", "/v1/webhooks", { token: PLATFORM_KEY }), 400, "bad_request");
    await expectProblem(await api("POST", "/v1/webhooks", { token: PLATFORM_KEY, body: { url: URL_A } }), 400, "bad_request");
  });

  it("a tenant's webhooks go with the tenant", async () => {
    const { tenant } = await createTenant();
    const hook = await createWebhook(tenant.id, { url: URL_A });
    expect((await call("POST", `/v1/webhooks/${hook.id}/test`, { token: PLATFORM_KEY, tenant: tenant.id })).status).toBe(202);
    expect((await api("DELETE", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY })).status).toBe(204);
    expect(await endpointRow(hook.id)).toBeNull();
    const left = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE tenant_id = ?").bind(tenant.id).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });
});

describe("GET /v1/webhooks", () => {
  it("lists the tenant's endpoints oldest first, in cursor and page mode, without secrets", async () => {
    const { ownerToken } = await createTenant();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: `${URL_A}/${i}` } })).body.id);
    const first = await call("GET", "/v1/webhooks?limit=2", { token: ownerToken });
    expect(first.body.items.map((w: { id: string }) => w.id)).toEqual(ids.slice(0, 2));
    expect(JSON.stringify(first.body)).not.toContain("whsec_");
    expect(first.body.items[0]).not.toHaveProperty("secret");
    const second = await call("GET", `/v1/webhooks?limit=2&cursor=${first.body.next_cursor}`, { token: ownerToken });
    expect(second.body.items.map((w: { id: string }) => w.id)).toEqual(ids.slice(2));
    expect(second.body.next_cursor).toBeNull();
    const page = await call("GET", "/v1/webhooks?page=1&page_size=2", { token: ownerToken });
    expect(page.body).toMatchObject({ total: 3, page: 1, page_size: 2 });
    await expectProblem(await api("GET", "/v1/webhooks?page=1&limit=2", { token: ownerToken }), 422, "validation_failed");
    await expectProblem(await api("GET", "/v1/webhooks?cursor=garbage", { token: ownerToken }), 422, "invalid_cursor");
  });
});

describe("PATCH /v1/webhooks/{id}", () => {
  it("changes url, events, description and enabled; only fields present change", async () => {
    const { ownerToken } = await createTenant();
    const hook = (await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A, description: "keep" } })).body;
    const res = await call("PATCH", `/v1/webhooks/${hook.id}`, { token: ownerToken, body: { url: `${URL_A}/v2`, events: ["user.deleted"] } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...hook, secret: undefined, url: `${URL_A}/v2`, events: ["user.deleted"] });
    expect(res.body).not.toHaveProperty("secret");
    const off = await call("PATCH", `/v1/webhooks/${hook.id}`, { token: ownerToken, body: { enabled: false, description: null } });
    expect(off.body).toMatchObject({ enabled: false, description: null, url: `${URL_A}/v2` });
    const on = await call("PATCH", `/v1/webhooks/${hook.id}`, { token: ownerToken, body: { enabled: true } });
    expect(on.body.enabled).toBe(true);
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { token: ownerToken })).body).toEqual(on.body);
  });

  it("a patch that changes nothing writes nothing: same ETag", async () => {
    const { ownerToken } = await createTenant();
    const hook = (await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } })).body;
    const before = (await call("GET", `/v1/webhooks/${hook.id}`, { token: ownerToken })).headers.get("ETag");
    const same = await call("PATCH", `/v1/webhooks/${hook.id}`, { token: ownerToken, body: { url: URL_A, enabled: true } });
    expect(same.status).toBe(200);
    expect(same.headers.get("ETag")).toBe(before);
  });

  it("honours If-Match: a stale tag is a 412 that changes nothing", async () => {
    const { ownerToken } = await createTenant();
    const created = await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } });
    const tag = created.headers.get("ETag")!;
    const first = await call("PATCH", `/v1/webhooks/${created.body.id}`, { token: ownerToken, body: { description: "one" }, headers: { "If-Match": tag } });
    expect(first.status).toBe(200);
    expect(first.headers.get("ETag")).not.toBe(tag);
    await expectProblem(
      await api("PATCH", `/v1/webhooks/${created.body.id}`, { token: ownerToken, body: { description: "two" }, headers: { "If-Match": tag } }),
      412,
      "precondition_failed",
    );
    await expectProblem(await api("DELETE", `/v1/webhooks/${created.body.id}`, { token: ownerToken, headers: { "If-Match": tag } }), 412, "precondition_failed");
    expect((await call("GET", `/v1/webhooks/${created.body.id}`, { token: ownerToken })).body.description).toBe("one");
  });

  it("422 for bad fields (url rules included), nothing changes", async () => {
    const { ownerToken } = await createTenant();
    const hook = (await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } })).body;
    const cases: [unknown, string[]][] = [
      [{ enabled: "yes" }, ["enabled"]],
      [{ events: [] }, ["events"]],
      [{ events: ["webhook.test"] }, ["events.0"]],
      [{ url: null }, ["url"]],
      [{ secret: "x" }, ["secret"]],
      [{ description: 1, enabled: 0 }, ["description", "enabled"]],
      [{ url: "http://example.com/x", enabled: "yes" }, ["enabled", "url"]],
      [{ url: "https://127.0.0.1/x", events: [] }, ["events", "url"]],
    ];
    for (const [body, paths] of cases) {
      const problem = await expectProblem(await api("PATCH", `/v1/webhooks/${hook.id}`, { token: ownerToken, body }), 422, "validation_failed");
      expect(problem.errors!.map((e) => e.path).sort(), JSON.stringify(body)).toEqual(paths);
    }
    const url = await expectProblem(await api("PATCH", `/v1/webhooks/${hook.id}`, { token: ownerToken, body: { url: "https://10.0.0.1/x" } }), 422, "invalid_webhook_url");
    expect(url.errors).toEqual([{ path: "url", message: expect.any(String), code: "invalid_webhook_url" }]);
    await expectProblem(await api("PATCH", `/v1/webhooks/${hook.id}`, { token: ownerToken, body: { url: "http://example.com/x" } }), 422, "invalid_webhook_url");
    await expectProblem(await api("PATCH", `/v1/webhooks/whk_nope`, { token: ownerToken, body: { enabled: false } }), 404, "not_found");
    expect((await call("GET", `/v1/webhooks/${hook.id}`, { token: ownerToken })).body).toEqual({ ...hook, secret: undefined });
  });
});

describe("DELETE /v1/webhooks/{id}", () => {
  it("204; then 404, and its deliveries log is gone", async () => {
    const { ownerToken } = await createTenant();
    const hook = (await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } })).body;
    await call("POST", `/v1/webhooks/${hook.id}/test`, { token: ownerToken });
    expect((await api("DELETE", `/v1/webhooks/${hook.id}`, { token: ownerToken })).status).toBe(204);
    await expectProblem(await api("GET", `/v1/webhooks/${hook.id}`, { token: ownerToken }), 404, "not_found");
    await expectProblem(await api("GET", `/v1/webhooks/${hook.id}/deliveries`, { token: ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", `/v1/webhooks/${hook.id}`, { token: ownerToken }), 404, "not_found");
    const left = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ?").bind(hook.id).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });
});

describe("POST /v1/webhooks/{id}/rotate-secret", () => {
  it("200 with a new secret; the previous one is kept for 24 hours, and never more than two", async () => {
    const { ownerToken } = await createTenant();
    const hook = (await call("POST", "/v1/webhooks", { token: ownerToken, body: { url: URL_A } })).body;
    const before = Date.now();
    const res = await call("POST", `/v1/webhooks/${hook.id}/rotate-secret`, { token: ownerToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) });
    expect(res.body.secret).not.toBe(hook.secret);
    const row = (await endpointRow(hook.id))!;
    const expires = Date.parse(String(row.previous_secret_expires_at));
    expect(expires - before).toBeGreaterThanOrEqual(24 * 3600_000 - 1000);
    expect(expires - before).toBeLessThanOrEqual(24 * 3600_000 + 5000);
    const again = await call("POST", `/v1/webhooks/${hook.id}/rotate-secret`, { token: ownerToken });
    const twice = (await endpointRow(hook.id))!;
    expect(twice.previous_secret).toBe(row.secret);
    expect(Object.keys(twice).filter((k) => k.includes("secret") && !k.includes("expires"))).toEqual(["secret", "previous_secret"]);
    expect(again.body.secret).not.toBe(res.body.secret);
  });
});
