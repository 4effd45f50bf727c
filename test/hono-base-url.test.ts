// userplane/hono in baseUrl mode (a consumer without a service binding): access tokens checked
// against the JWKS, then GET /v1/principal; platform permissions over /v1/permissions/check.
// The consumer app runs here, reaching userplane through the worker's own fetch.
import { exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { requirePermission, userplane, type UserplaneVariables } from "../src/hono";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";
import { createKey, expireKey, sessionIdOf, temporaryPasswordToken } from "./rpc-fixtures";

function consumerApp() {
  const sent: string[] = [];
  const app = new Hono<{ Variables: UserplaneVariables }>();
  app.use(
    "*",
    userplane({
      baseUrl: "https://userplane.test",
      fetch: (request) => {
        sent.push(new URL(request.url).pathname);
        return exports.default.fetch(request);
      },
      tenant: (c) => c.req.header("X-Tenant"),
    }),
  );
  app.get("/whoami", (c) => c.json(c.var.principal));
  app.get("/tasks", requirePermission("tasks:admin"), (c) => c.json({ ok: true }));
  const request = (path: string, token?: string, headers: Record<string, string> = {}) =>
    app.request(path, { headers: token ? { ...headers, Authorization: `Bearer ${token}` } : headers });
  return { request, sent };
}

describe("userplane({ baseUrl })", () => {
  it("a user: the principal as authenticate() gives it; allowed, 403 and 401", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    const app = consumerApp();
    expect(await (await app.request("/whoami", ownerToken)).json()).toEqual({
      kind: "user",
      tenant_id: tenant.id,
      user_id: owner.id,
      session_id: sessionIdOf(ownerToken),
      key_id: null,
      roles: ["owner"],
      permissions: ["*"],
      password_change_required: false,
    });
    expect((await app.request("/tasks", ownerToken)).status).toBe(200);
    await expectProblem(await app.request("/tasks", member.token), 403, "forbidden");
    const none = await app.request("/tasks");
    await expectProblem(none, 401, "unauthorized");
    expect(none.headers.get("WWW-Authenticate")).toBe("Bearer");
  });

  it("a forged or garbled token is refused by the JWKS check, without asking for the principal", async () => {
    const { ownerToken } = await createTenant();
    const app = consumerApp();
    const [header, payload] = ownerToken.split(".");
    for (const token of [`${header}.${payload}.${"A".repeat(86)}`, "garbage"]) {
      await expectProblem(await app.request("/tasks", token), 401, "unauthorized");
    }
    expect(app.sent.filter((p) => p === "/v1/principal")).toEqual([]);
    expect(app.sent.filter((p) => p === "/.well-known/jwks.json").length).toBeLessThanOrEqual(1);
  });

  it("a revoked session passes the signature check but not userplane", async () => {
    const { tenant, ownerToken } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "a@x.test", roles: ["owner"] });
    const app = consumerApp();
    expect((await app.request("/tasks", admin.token)).status).toBe(200);
    expect((await api("DELETE", `/v1/users/${admin.user.id}/sessions/${sessionIdOf(admin.token)}`, { token: ownerToken })).status).toBe(204);
    await expectProblem(await app.request("/tasks", admin.token), 401, "unauthorized");
  });

  it("API keys go to GET /v1/principal directly: live ones pass, expired ones do not", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const key = await createKey(ownerToken, { name: "k", roles: ["owner"] });
    const app = consumerApp();
    expect(await (await app.request("/whoami", key.key)).json()).toMatchObject({ kind: "api_key", tenant_id: tenant.id, user_id: owner.id, key_id: key.id });
    expect((await app.request("/tasks", key.key)).status).toBe(200);
    await expireKey(key.id);
    await expectProblem(await app.request("/tasks", key.key), 401, "unauthorized");
  });

  it("a platform key: 403 without a tenant, allowed with X-Tenant (checked by /v1/permissions/check)", async () => {
    const { tenant } = await createTenant();
    const app = consumerApp();
    await expectProblem(await app.request("/tasks", PLATFORM_KEY), 403, "forbidden");
    expect((await app.request("/tasks", PLATFORM_KEY, { "X-Tenant": tenant.id })).status).toBe(200);
    await expectProblem(await app.request("/tasks", PLATFORM_KEY, { "X-Tenant": "no-such-tenant" }), 403, "forbidden");
    expect(app.sent).toContain("/v1/permissions/check");
  });

  it("a temporary password: 403 password_change_required on every route", async () => {
    const { tenant } = await createTenant();
    const token = await temporaryPasswordToken(tenant, "t@x.test");
    const app = consumerApp();
    await expectProblem(await app.request("/whoami", token), 403, "password_change_required");
    await expectProblem(await app.request("/tasks", token), 403, "password_change_required");
  });

  it("requirePermission refuses a malformed permission when the app is built", () => {
    expect(() => requirePermission("tasks")).toThrow(TypeError);
  });
});

describe("GET /v1/principal", () => {
  it("answers the caller in authenticate()'s shape; X-Tenant sets a platform key's tenant", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const me = await call("GET", "/v1/principal", { token: ownerToken });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: "user", tenant_id: tenant.id, user_id: owner.id, key_id: null, password_change_required: false });
    expect((await call("GET", "/v1/principal", { token: PLATFORM_KEY })).body).toMatchObject({ kind: "platform", tenant_id: null, key_id: null });
    expect((await call("GET", "/v1/principal", { token: PLATFORM_KEY, tenant: tenant.slug })).body).toMatchObject({ tenant_id: tenant.id });
  });

  it("401 without credentials, 403 password_change_required with a temporary password", async () => {
    const { tenant } = await createTenant();
    await expectProblem(await api("GET", "/v1/principal"), 401, "unauthorized");
    const token = await temporaryPasswordToken(tenant, "t@x.test");
    await expectProblem(await api("GET", "/v1/principal", { token }), 403, "password_change_required");
  });
});
