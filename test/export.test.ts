import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, signIn, userWithToken } from "./helpers";
import { exportAll, exportPart } from "./export-helpers";

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });

describe("GET /v1/users/export", () => {
  it("answers NDJSON, one User per line in id order, managed and inactive users included, no hashes", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    await createUser(tenant.id, { email: "off@x.test", is_active: false, password: "password-1" });
    const kid = await call("POST", "/v1/users/me/managed-users", { token: ownerToken, body: { first_name: "Kid", last_name: "Doe" } });
    const part = await exportPart("/v1/users/export", { token: ownerToken });
    expect(part.res.status).toBe(200);
    expect(part.res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(part.text.endsWith("\n")).toBe(true);
    expect(part.link).toBeNull();
    expect(part.lines).toHaveLength(3);
    const ids = part.lines.map((l) => l.id);
    expect(ids).toEqual([...ids].sort());
    expect(part.lines.map((l) => l.email)).toContain("off@x.test");
    expect(part.lines.find((l) => l.id === kid.body.id)).toMatchObject({ is_managed: true, manager_id: owner.id });
    expect(part.lines[0]).toMatchObject({ id: owner.id, roles: ["owner"], metadata: {}, tenant_id: tenant.id });
    expect(part.text).not.toMatch(/password_hash|scrypt/);
    expect(Object.keys(part.lines[0]).sort()).toEqual(
      [
        "id", "tenant_id", "username", "email", "first_name", "last_name", "display_name", "is_active", "is_managed", "manager_id",
        "roles", "metadata", "external_id", "has_password", "password_change_required", "created_at", "updated_at", "last_login_at",
      ].sort(),
    );
  });

  it("pages with Link rel=next keeping limit and include_credentials until every user was listed once", async () => {
    const { tenant, ownerToken } = await createTenant();
    for (let i = 0; i < 6; i++) await createUser(tenant.id, { email: `p${i}@x.test` });
    const first = await exportPart("/v1/users/export?limit=3&include_credentials=true", { token: ownerToken });
    expect(first.lines).toHaveLength(3);
    const next = new URL(first.next!);
    expect(next.pathname).toBe("/v1/users/export");
    expect(next.searchParams.get("limit")).toBe("3");
    expect(next.searchParams.get("include_credentials")).toBe("true");
    expect(next.searchParams.get("cursor")).toBeTruthy();
    const all = await exportAll("/v1/users/export?limit=3&include_credentials=true", { token: ownerToken });
    expect(all).toHaveLength(7);
    expect(new Set(all.map((l) => l.id)).size).toBe(7);
    expect(all.every((l) => "password_hash" in l)).toBe(true);
    // Exactly as many users as the limit: one part, and no Link.
    const exact = await exportPart("/v1/users/export?limit=7", { token: ownerToken });
    expect(exact.lines).toHaveLength(7);
    expect(exact.link).toBeNull();
  });

  it("include_credentials needs an owner (*) or a platform principal: an admin gets 403", async () => {
    const { tenant, ownerToken } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "adm@x.test", roles: ["admin"] });
    await expectProblem(await api("GET", "/v1/users/export?include_credentials=true", { token: admin.token }), 403, "forbidden");
    expect((await api("GET", "/v1/users/export", { token: admin.token })).status).toBe(200);
    expect((await api("GET", "/v1/users/export?include_credentials=true", { token: ownerToken })).status).toBe(200);
    const platform = await exportPart("/v1/users/export?include_credentials=true", asPlatform(tenant.id));
    expect(platform.res.status).toBe(200);
    expect(platform.lines[0].password_hash).toMatch(/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[\w-]+\$[\w-]+$/);
  });

  it("needs users:read (403 for a member) and credentials (401)", async () => {
    const { tenant } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    await expectProblem(await api("GET", "/v1/users/export", { token: member.token }), 403, "forbidden");
    await expectProblem(await api("GET", "/v1/users/export"), 401, "unauthorized");
  });

  it("never shows another tenant's users, and a tenant principal cannot name another tenant", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const part = await exportPart(`/v1/users/export?tenant=${b.tenant.id}`, { token: a.ownerToken, tenant: b.tenant.id });
    expect(part.lines.map((l) => l.tenant_id)).toEqual([a.tenant.id]);
  });

  it("bad query values are 422 naming the field: limit 0 or 10001, a forged cursor, include_credentials=maybe", async () => {
    const { ownerToken } = await createTenant();
    const cases: [string, string][] = [
      ["limit=0", "limit"],
      ["limit=10001", "limit"],
      ["limit=ten", "limit"],
      ["include_credentials=maybe", "include_credentials"],
    ];
    for (const [query, path] of cases) {
      const problem = await expectProblem(await api("GET", `/v1/users/export?${query}`, { token: ownerToken }), 422, "validation_failed");
      expect(problem.errors!.map((e) => e.path)).toEqual([path]);
    }
    for (const cursor of ["garbage", btoa(JSON.stringify({ after: "x" })), btoa("[]")]) {
      const problem = await expectProblem(await api("GET", `/v1/users/export?cursor=${encodeURIComponent(cursor)}`, { token: ownerToken }), 422, "invalid_cursor");
      expect(problem.errors![0]!.path).toBe("cursor");
    }
    expect((await api("GET", "/v1/users/export?limit=10000", { token: ownerToken })).status).toBe(200);
  });

  it("exports last_login_at once the user has signed in", async () => {
    const { tenant, ownerPassword, owner } = await createTenant();
    expect((await signIn(tenant.slug, { email: owner.email }, ownerPassword)).status).toBe(200);
    const [line] = await exportAll("/v1/users/export?include_credentials=true", asPlatform(tenant.id));
    expect(line!.last_login_at).toEqual(expect.any(String));
  });
});

describe("OpenAPI: import and export", () => {
  it("describes both routes: the import's items, results and hash formats; the export's NDJSON, Link header and query", async () => {
    const doc = (await call("GET", "/openapi.json")).body;
    const post = doc.paths["/v1/users/import"].post;
    expect(post.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/ImportRequest");
    expect(doc.components.schemas.ImportRequest.properties.users.items.$ref).toBe("#/components/schemas/ImportUser");
    expect(doc.components.schemas.ImportUser.properties.password).toBeUndefined();
    expect(doc.components.schemas.ImportUser.properties.password_hash.description).toMatch(/bcrypt.*argon2id.*scrypt.*pbkdf2-sha256.*pbkdf2_sha256.*firebase-scrypt/s);
    expect(post.responses["200"].content["application/json"].schema.$ref).toBe("#/components/schemas/ImportResult");
    expect(post.parameters.map((p: { name: string }) => p.name)).toContain("Idempotency-Key");
    const get = doc.paths["/v1/users/export"].get;
    expect(Object.keys(get.responses["200"].content)).toEqual(["application/x-ndjson"]);
    expect(get.responses["200"].headers.Link.description).toMatch(/rel="next"/);
    expect(get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(["limit", "cursor", "include_credentials"]));
    expect(get.description).toMatch(/\$firebase-scrypt\$rounds=R,mem_cost=M/);
  });
});
