import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

const check = (query: string, token: string, tenant?: string) => api("GET", `/v1/permissions/check?${query}`, { token, tenant });

async function defineRole(tenantId: string, name: string, permissions: string[]) {
  const res = await call("POST", "/v1/roles", { token: PLATFORM_KEY, tenant: tenantId, body: { name, permissions } });
  if (res.status !== 201) throw new Error(`defineRole: ${res.status} ${JSON.stringify(res.body)}`);
}

describe("GET /v1/permissions/check", () => {
  it("200 {allowed: true} when the caller holds the permission, in both query forms", async () => {
    const { tenant } = await createTenant();
    await defineRole(tenant.id, "CHAT-USER", ["chat:use"]);
    const user = await userWithToken(tenant.id, { email: "c@x.test", roles: ["CHAT-USER"] });
    for (const q of ["permission=chat:use", "resource=chat&action=use"]) {
      const res = await check(q, user.token);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ allowed: true });
    }
  });

  it("403 forbidden when the caller does not hold it, in both forms", async () => {
    const { tenant } = await createTenant();
    await defineRole(tenant.id, "CHAT-USER", ["chat:use"]);
    const user = await userWithToken(tenant.id, { email: "c@x.test", roles: ["CHAT-USER"] });
    await expectProblem(await check("permission=chat:admin", user.token), 403, "forbidden");
    await expectProblem(await check("resource=tasks&action=use", user.token), 403, "forbidden");
    await expectProblem(await check("permission=chat:*", user.token), 403, "forbidden");
  });

  it("honours wildcards: resource:* covers every action of it, * covers everything", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, "TASK-ADMIN", ["tasks:*"]);
    const tasker = await userWithToken(tenant.id, { email: "t@x.test", roles: ["TASK-ADMIN"] });
    expect((await check("permission=tasks:admin", tasker.token)).status).toBe(200);
    expect((await check("resource=tasks&action=*", tasker.token)).status).toBe(200);
    await expectProblem(await check("permission=taskset:admin", tasker.token), 403, "forbidden");
    await expectProblem(await check("permission=*", tasker.token), 403, "forbidden");
    expect((await check("permission=*", ownerToken)).status).toBe(200);
    expect((await check("permission=anything:goes", ownerToken)).status).toBe(200);
  });

  it("built-in roles: admin holds users:write and roles:read but not roles:write; a member holds none", async () => {
    const { tenant } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "a@x.test", roles: ["admin"] });
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    expect((await check("permission=users:write", admin.token)).status).toBe(200);
    expect((await check("permission=roles:read", admin.token)).status).toBe(200);
    await expectProblem(await check("permission=roles:write", admin.token), 403, "forbidden");
    await expectProblem(await check("permission=users:read", member.token), 403, "forbidden");
  });

  it("answers for API keys from their roles, and for platform keys (which hold everything)", async () => {
    const { tenant, ownerToken } = await createTenant();
    await defineRole(tenant.id, "CHAT-USER", ["chat:use"]);
    const key = await call("POST", "/v1/api-keys", { token: ownerToken, body: { name: "chat bot", roles: ["CHAT-USER"] } });
    expect((await check("permission=chat:use", key.body.key)).status).toBe(200);
    await expectProblem(await check("permission=users:read", key.body.key), 403, "forbidden");
    expect((await check("permission=users:delete", PLATFORM_KEY)).status).toBe(200);
  });

  it("a tenant's roles count only in that tenant: naming another tenant changes nothing", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await defineRole(a.tenant.id, "CHAT-USER", ["chat:use"]);
    await defineRole(b.tenant.id, "CHAT-USER", []);
    const inB = await userWithToken(b.tenant.id, { email: "c@x.test", roles: ["CHAT-USER"] });
    await expectProblem(await check("permission=chat:use", inB.token), 403, "forbidden");
    await expectProblem(await check("permission=chat:use", inB.token, a.tenant.id), 403, "forbidden");
  });

  it("a platform key naming an unknown tenant gets 404", async () => {
    await expectProblem(await check("permission=users:read", PLATFORM_KEY, "no-such-tenant-here"), 404, "not_found");
  });

  it("422 when the query is incomplete, mixes both forms or is malformed, naming the fields", async () => {
    const { ownerToken } = await createTenant();
    const cases: [string, string[]][] = [
      ["", ["permission"]],
      ["resource=tasks", ["action"]],
      ["action=admin", ["resource"]],
      ["resource=&action=", ["action", "resource"]],
      ["permission=tasks:admin&resource=tasks", ["permission", "resource"]],
      ["permission=tasks:admin&resource=tasks&action=admin", ["action", "permission", "resource"]],
      ["permission=nocolon", ["permission"]],
      ["permission=a:b:c", ["permission"]],
      ["resource=ta:sks&action=admin", ["resource"]],
      ["resource=tasks&action=ad%20min", ["action"]],
      ["permission=a:b&permission=c:d", ["permission"]],
    ];
    for (const [q, paths] of cases) {
      const body = await expectProblem(await check(q, ownerToken), 422, "validation_failed");
      expect([...new Set(body.errors!.map((e) => e.path))].sort(), q).toEqual(paths);
    }
  });

  it("401 without credentials", async () => {
    await expectProblem(await api("GET", "/v1/permissions/check?permission=users:read"), 401, "unauthorized");
  });
});
