import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, signIn, userWithToken } from "./helpers";

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });
const importUsers = (tenantId: string, body: unknown, opts: { token?: string; headers?: Record<string, string> } = {}) =>
  call("POST", "/v1/users/import", { ...(opts.token ? { token: opts.token } : asPlatform(tenantId)), body, headers: opts.headers });

const countUsers = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

const BCRYPT = "$2b$12$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq"; // "password" (passlib)

describe("POST /v1/users/import", () => {
  it("creates users and answers one result per item in input order, with counts", async () => {
    const { tenant } = await createTenant();
    const res = await importUsers(tenant.id, {
      users: [
        { email: "a@x.test", first_name: "Ann", roles: ["admin"], metadata: { plan: "pro" } },
        { email: "not-an-email" },
        { username: "bob", external_id: "ext-1", is_active: false },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ created: 2, updated: 0, skipped: 0, failed: 1 });
    expect(res.body.results.map((r: { index: number; status: string }) => [r.index, r.status])).toEqual([
      [0, "created"],
      [1, "failed"],
      [2, "created"],
    ]);
    expect(res.body.results[1].errors).toEqual([expect.objectContaining({ path: "email", code: "invalid_format" })]);
    expect(res.body.results[1].id).toBeUndefined();
    const ann = await call("GET", `/v1/users/${res.body.results[0].id}`, asPlatform(tenant.id));
    expect(ann.body).toMatchObject({ email: "a@x.test", first_name: "Ann", roles: ["admin"], metadata: { plan: "pro" }, has_password: false });
    const bob = await call("GET", `/v1/users/${res.body.results[2].id}`, asPlatform(tenant.id));
    expect(bob.body).toMatchObject({ username: "bob", external_id: "ext-1", is_active: false, roles: ["member"] });
  });
});
