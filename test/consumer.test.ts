// examples/consumer-worker running beside userplane (an auxiliary Worker bound to UserplaneRpc,
// vitest.config.ts "integration"): its routes, protected by userplane/hono, through its own fetch.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";
import { createKey, expireKey, sessionIdOf, temporaryPasswordToken } from "./rpc-fixtures";

function consumer(method: string, path: string, token?: string, headers: Record<string, string> = {}) {
  if (token) headers.Authorization = `Bearer ${token}`;
  return env.CONSUMER.fetch(new Request(`https://consumer.test${path}`, { method, headers }));
}

/** A tenant with a TASK-ADMIN role (tasks:*) and a member of it. */
async function tasksTenant() {
  const fixture = await createTenant();
  const role = await call("POST", "/v1/roles", { token: fixture.ownerToken, body: { name: "TASK-ADMIN", permissions: ["tasks:*"] } });
  expect(role.status).toBe(201);
  const admin = await userWithToken(fixture.tenant.id, { email: "admin@tasks.test", roles: ["TASK-ADMIN"] });
  const member = await userWithToken(fixture.tenant.id, { email: "member@tasks.test" });
  return { ...fixture, admin, member };
}

describe("consumer-worker behind userplane/hono", () => {
  it("allowed: a user whose role grants the permission, with c.var.principal set", async () => {
    const t = await tasksTenant();
    const res = await consumer("POST", "/tasks/admin", t.admin.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true, by: t.admin.user.id });
    const home = await (await consumer("GET", "/", t.admin.token)).json<{ principal: Record<string, unknown> }>();
    expect(home.principal).toMatchObject({ kind: "user", tenant_id: t.tenant.id, user_id: t.admin.user.id, session_id: sessionIdOf(t.admin.token) });
  });

  it("401 problem+json with WWW-Authenticate: Bearer without a credential or with a refused one", async () => {
    for (const token of [undefined, "not-a-token", "up_unknown_key"]) {
      const res = await consumer("GET", "/tasks", token);
      await expectProblem(res, 401, "unauthorized");
      expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
    }
    // An unprotected route still answers, with no principal.
    expect(await (await consumer("GET", "/")).json()).toEqual({ service: "consumer-worker", principal: null });
  });

  it("403 problem+json when the permission is not held", async () => {
    const t = await tasksTenant();
    const body = await expectProblem(await consumer("POST", "/tasks/admin", t.member.token), 403, "forbidden");
    expect(body.detail).toContain("tasks:admin");
  });

  it("a revoked session is refused at once", async () => {
    const t = await tasksTenant();
    expect((await consumer("GET", "/tasks", t.admin.token)).status).toBe(200);
    expect((await api("DELETE", `/v1/users/${t.admin.user.id}/sessions/${sessionIdOf(t.admin.token)}`, { token: t.ownerToken })).status).toBe(204);
    await expectProblem(await consumer("GET", "/tasks", t.admin.token), 401, "unauthorized");
  });

  it("a deleted user is refused, and so is the API key they made", async () => {
    const t = await tasksTenant();
    const lead = await userWithToken(t.tenant.id, { email: "lead@tasks.test", roles: ["admin", "TASK-ADMIN"] });
    const key = await createKey(lead.token, { name: "tasks-bot", roles: ["TASK-ADMIN"] });
    expect((await consumer("GET", "/tasks", lead.token)).status).toBe(200);
    expect((await consumer("GET", "/tasks", key.key)).status).toBe(200);
    expect((await api("DELETE", `/v1/users/${lead.user.id}`, { token: t.ownerToken })).status).toBe(204);
    await expectProblem(await consumer("GET", "/tasks", lead.token), 401, "unauthorized");
    await expectProblem(await consumer("GET", "/tasks", key.key), 401, "unauthorized");
  });

  it("an expired API key is refused", async () => {
    const t = await tasksTenant();
    const key = await createKey(t.ownerToken, { name: "cron", roles: ["TASK-ADMIN"] });
    expect((await consumer("GET", "/tasks", key.key)).status).toBe(200);
    await expireKey(key.id);
    await expectProblem(await consumer("GET", "/tasks", key.key), 401, "unauthorized");
  });

  it("a user who must change a temporary password: 403 password_change_required, even where no permission is asked", async () => {
    const t = await tasksTenant();
    const token = await temporaryPasswordToken(t.tenant, "temp@tasks.test");
    await expectProblem(await consumer("GET", "/tasks", token), 403, "password_change_required");
    await expectProblem(await consumer("GET", "/", token), 403, "password_change_required");
  });

  it("getUser acts as the caller: another tenant's user is null (the consumer's 404)", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const mine = await consumer("GET", `/people/${a.owner.id}`, a.ownerToken);
    expect(mine.status).toBe(200);
    expect(await mine.json()).toMatchObject({ id: a.owner.id, tenant_id: a.tenant.id });
    expect((await consumer("GET", `/people/${b.owner.id}`, a.ownerToken)).status).toBe(404);
    // Naming the other tenant changes nothing for a tenant principal.
    expect((await consumer("GET", `/people/${b.owner.id}`, a.ownerToken, { "X-Tenant": b.tenant.id })).status).toBe(404);
  });

  it("a platform key: 403 without a tenant, allowed with X-Tenant (options.tenant), 403 for an unknown tenant", async () => {
    const t = await tasksTenant();
    await expectProblem(await consumer("GET", "/tasks", PLATFORM_KEY), 403, "forbidden");
    const inTenant = await consumer("GET", "/tasks", PLATFORM_KEY, { "X-Tenant": t.tenant.slug });
    expect(inTenant.status).toBe(200);
    await expectProblem(await consumer("GET", "/tasks", PLATFORM_KEY, { "X-Tenant": "no-such-tenant" }), 403, "forbidden");
    expect((await consumer("GET", `/people/${t.owner.id}`, PLATFORM_KEY, { "X-Tenant": t.tenant.id })).status).toBe(200);
    expect((await consumer("GET", `/people/${t.owner.id}`, PLATFORM_KEY)).status).toBe(403);
  });

  it("forwards userplane's own API (/v1/*) to the binding's fetch, unchanged", async () => {
    const { owner, ownerToken } = await createTenant();
    const viaConsumer = await consumer("GET", "/v1/users/me", ownerToken);
    expect(viaConsumer.status).toBe(200);
    expect(viaConsumer.headers.get("ETag")).toBeTruthy();
    expect(await viaConsumer.json()).toMatchObject({ id: owner.id });
    await expectProblem(await consumer("GET", "/v1/users/me"), 401, "unauthorized");
  });
});
