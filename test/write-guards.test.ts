import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, tokenFor, userWithToken, type TenantFixture } from "./helpers";

/*
 * Every refusal of a write is decided inside the write's own batch (src/auth/guards.ts). These
 * tests pin that each refusal still answers its status and code, and that the batch changed
 * nothing at all: every row of the tenant is compared before and after.
 */

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });

async function rows(query: string, ...binds: unknown[]) {
  return (await env.DB.prepare(query).bind(...binds).all()).results;
}

/** Everything a write of the tenant could change. */
async function snapshot(tenantId: string) {
  return {
    tenant: await rows("SELECT name, slug, version FROM tenants WHERE id = ?", tenantId),
    users: await rows(
      `SELECT id, version, username, email, first_name, last_name, is_active, metadata, external_id, updated_at, deleted_at
       FROM users WHERE tenant_id = ? ORDER BY id`,
      tenantId,
    ),
    grants: await rows("SELECT user_id, role FROM user_roles WHERE tenant_id = ? ORDER BY user_id, role", tenantId),
    events: await rows("SELECT id, type, data FROM events WHERE tenant_id = ? ORDER BY seq", tenantId),
    sessions: await rows("SELECT id, revoked_at FROM sessions WHERE tenant_id = ? ORDER BY id", tenantId),
    shares: await rows("SELECT owner_id, grantee_id, scopes, updated_at FROM shares WHERE tenant_id = ? ORDER BY owner_id, grantee_id", tenantId),
    keys: await rows("SELECT id FROM api_keys WHERE tenant_id = ? ORDER BY id", tenantId),
    roles: await rows("SELECT name, description, permissions, version FROM roles WHERE tenant_id = ? ORDER BY name", tenantId),
  };
}

/** Sends the request, expects the problem, and that nothing in the tenant changed. */
async function refused(f: TenantFixture, status: number, code: string, send: () => Promise<Response>) {
  const before = await snapshot(f.tenant.id);
  const problem = await expectProblem(await send(), status, code);
  expect(await snapshot(f.tenant.id)).toEqual(before);
  return problem;
}

/** A tenant with a second owner (so the last-owner rule stays out of the way), a member and a custom role. */
async function scene() {
  const f = await createTenant();
  const owner2 = await userWithToken(f.tenant.id, { email: "owner2@x.test", roles: ["owner"] });
  const member = await userWithToken(f.tenant.id, { email: "member@x.test", first_name: "Mem" });
  await call("POST", "/v1/roles", { token: f.ownerToken, body: { name: "TASK-ADMIN", permissions: ["tasks:admin"] } });
  return { f, owner2, member };
}

/** What the second owner might do; each would succeed with a live session. */
function ownerWrites(f: TenantFixture, token: string, memberId: string) {
  return [
    () => api("PATCH", `/v1/users/${memberId}`, { token, body: { first_name: "Changed", metadata: { k: 1 } } }),
    () => api("PATCH", "/v1/users/me", { token, body: { first_name: "Me" } }),
    () => api("PUT", `/v1/users/${memberId}`, { token, body: { email: "member@x.test", first_name: "Put" } }),
    () => api("POST", "/v1/users", { token, body: { email: "fresh@x.test", roles: ["admin"] } }),
    () => api("PUT", `/v1/users/me/shares/${memberId}`, { token, body: { scopes: ["profile:read"] } }),
    () => api("DELETE", `/v1/users/${memberId}/sessions`, { token }),
    () => api("POST", "/v1/api-keys", { token, body: { name: "k", roles: ["member"] } }),
    () => api("POST", "/v1/roles", { token, body: { name: "NEW", permissions: ["tasks:read"] } }),
    () => api("PATCH", "/v1/roles/TASK-ADMIN", { token, body: { description: "d" } }),
    () => api("DELETE", "/v1/roles/TASK-ADMIN", { token }),
    () => api("PATCH", `/v1/users/${f.owner.id}`, { token, body: { roles: ["admin"] } }),
  ];
}

describe("write guards: the session", () => {
  it("a revoked session is a 401 for every write, and nothing changes", async () => {
    const { f, owner2, member } = await scene();
    await call("DELETE", "/v1/users/me/sessions", { token: owner2.token });
    for (const send of ownerWrites(f, owner2.token, member.user.id)) {
      const res = await refused(f, 401, "unauthorized", send);
      expect(res.detail).toMatch(/session has ended/);
    }
  });

  it("a deactivated user's token is a 401 for every write, and nothing changes", async () => {
    const { f, owner2, member } = await scene();
    expect((await call("PATCH", `/v1/users/${owner2.user.id}`, { ...asPlatform(f.tenant.id), body: { is_active: false } })).status).toBe(200);
    for (const send of ownerWrites(f, owner2.token, member.user.id)) await refused(f, 401, "unauthorized", send);
  });

  it("a deleted user's token is a 401 for every write, and nothing changes", async () => {
    const { f, owner2, member } = await scene();
    expect((await api("DELETE", `/v1/users/${owner2.user.id}`, asPlatform(f.tenant.id))).status).toBe(204);
    for (const send of ownerWrites(f, owner2.token, member.user.id)) await refused(f, 401, "unauthorized", send);
  });

  it("with a temporary password every write but the password change is a 403 password_change_required", async () => {
    const { f } = await scene();
    const temp = await createUser(f.tenant.id, { email: "temp@x.test", password: "temporary-1", temporary_password: true });
    const token = await tokenFor(f.tenant.id, temp.id);
    await refused(f, 403, "password_change_required", () => api("PATCH", "/v1/users/me", { token, body: { first_name: "T" } }));
    await refused(f, 403, "password_change_required", () => api("DELETE", "/v1/users/me/sessions", { token }));
  });
});

describe("write guards: permissions", () => {
  it("a missing permission is a 403 naming it, and nothing changes", async () => {
    const { f, member } = await scene();
    const t = member.token;
    expect((await refused(f, 403, "forbidden", () => api("POST", "/v1/users", { token: t, body: { email: "n@x.test" } }))).detail).toBe(
      "Missing permission users:write.",
    );
    await refused(f, 403, "forbidden", () => api("POST", "/v1/api-keys", { token: t, body: { name: "k", roles: [] } }));
    await refused(f, 403, "forbidden", () => api("POST", "/v1/roles", { token: t, body: { name: "X", permissions: [] } }));
    await refused(f, 403, "forbidden", () => api("PATCH", "/v1/roles/TASK-ADMIN", { token: t, body: { description: "d" } }));
    const own = await refused(f, 403, "forbidden", () =>
      api("PATCH", `/v1/users/${member.user.id}`, { token: t, body: { email: "mine@x.test", first_name: "Also" } }),
    );
    expect(own.detail).toBe("You may not change email of this user.");
  });

  it("users:read without sessions:write cannot revoke another user's sessions (403)", async () => {
    const { f, member } = await scene();
    await call("POST", "/v1/roles", { token: f.ownerToken, body: { name: "READER", permissions: ["users:read"] } });
    const reader = await userWithToken(f.tenant.id, { email: "reader@x.test", roles: ["READER"] });
    const problem = await refused(f, 403, "forbidden", () => api("DELETE", `/v1/users/${member.user.id}/sessions`, { token: reader.token }));
    expect(problem.detail).toBe("Missing permission sessions:write.");
  });

  it("an admin cannot take over an owner: way in, deactivation, roles, a new owner — 403, nothing changes", async () => {
    const { f, owner2 } = await scene();
    const admin = await userWithToken(f.tenant.id, { email: "admin@x.test", roles: ["admin"] });
    const t = admin.token;
    const takeover = await refused(f, 403, "forbidden", () => api("PATCH", `/v1/users/${owner2.user.id}`, { token: t, body: { email: "mine@x.test" } }));
    expect(takeover.detail).toBe("You cannot change the sign-in of a user whose roles carry permissions you do not hold (*).");
    await refused(f, 403, "forbidden", () => api("PATCH", `/v1/users/${owner2.user.id}`, { token: t, body: { is_active: false } }));
    await refused(f, 403, "forbidden", () => api("PUT", `/v1/users/${owner2.user.id}`, { token: t, body: { username: "taken-over" } }));
    const demote = await refused(f, 403, "forbidden", () => api("PATCH", `/v1/users/${owner2.user.id}`, { token: t, body: { roles: ["member"] } }));
    expect(demote.detail).toMatch(/^You cannot grant or revoke the role "owner": it carries permissions you do not hold \(\*\)\.$/);
    await refused(f, 403, "forbidden", () => api("POST", "/v1/users", { token: t, body: { email: "boss@x.test", roles: ["owner"] } }));
    await refused(f, 403, "forbidden", () => api("POST", "/v1/api-keys", { token: t, body: { name: "k", roles: ["TASK-ADMIN"] } }));
    // Their names are not their way in: editing them is fine.
    expect((await call("PATCH", `/v1/users/${owner2.user.id}`, { token: t, body: { first_name: "Boss" } })).status).toBe(200);
  });

  it("deactivating or demoting the last active owner is a 409, and nothing changes", async () => {
    const f = await createTenant();
    await refused(f, 409, "last_owner", () => api("PATCH", `/v1/users/${f.owner.id}`, { ...asPlatform(f.tenant.id), body: { is_active: false, first_name: "Gone" } }));
    await refused(f, 409, "last_owner", () => api("PATCH", `/v1/users/${f.owner.id}`, { ...asPlatform(f.tenant.id), body: { roles: ["admin"], metadata: { x: 1 } } }));
  });
});

describe("write guards: state", () => {
  it("a stale If-Match is a 412 for PATCH, PUT, role patch and delete, tenant patch; nothing changes", async () => {
    const { f, member } = await scene();
    const stale = { "If-Match": '"usr-00000000-1"' };
    const read = await api("GET", `/v1/users/${member.user.id}`, { token: f.ownerToken });
    const current = read.headers.get("ETag")!;
    await call("PATCH", `/v1/users/${member.user.id}`, { token: f.ownerToken, body: { first_name: "Newer" } });
    for (const headers of [stale, { "If-Match": current }]) {
      await refused(f, 412, "precondition_failed", () => api("PATCH", `/v1/users/${member.user.id}`, { token: f.ownerToken, headers, body: { last_name: "L" } }));
      await refused(f, 412, "precondition_failed", () => api("PUT", `/v1/users/${member.user.id}`, { token: f.ownerToken, headers, body: { email: "member@x.test" } }));
    }
    const roleTag = (await api("GET", "/v1/roles/TASK-ADMIN", { token: f.ownerToken })).headers.get("ETag")!;
    await call("PATCH", "/v1/roles/TASK-ADMIN", { token: f.ownerToken, body: { description: "moved on" } });
    await refused(f, 412, "precondition_failed", () => api("PATCH", "/v1/roles/TASK-ADMIN", { token: f.ownerToken, headers: { "If-Match": roleTag }, body: { description: "d" } }));
    await refused(f, 412, "precondition_failed", () => api("DELETE", "/v1/roles/TASK-ADMIN", { token: f.ownerToken, headers: { "If-Match": roleTag } }));
    const tenantTag = (await api("GET", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY })).headers.get("ETag")!;
    await call("PATCH", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY, body: { name: "Later" } });
    await refused(f, 412, "precondition_failed", () => api("PATCH", `/v1/tenants/${f.tenant.slug}`, { token: PLATFORM_KEY, headers: { "If-Match": tenantTag }, body: { name: "Stale" } }));
  });

  it("a duplicate email is a 409 on create, PATCH and PUT; nothing changes", async () => {
    const { f, member } = await scene();
    const t = f.ownerToken;
    await refused(f, 409, "conflict", () => api("POST", "/v1/users", { token: t, body: { email: "MEMBER@x.test", roles: ["admin"] } }));
    await refused(f, 409, "conflict", () => api("PATCH", `/v1/users/${member.user.id}`, { token: t, body: { email: "owner2@X.test", metadata: { a: 1 }, roles: ["admin"] } }));
    await refused(f, 409, "conflict", () => api("PUT", `/v1/users/${member.user.id}`, { token: t, body: { email: "owner2@x.test", first_name: "P" } }));
    await refused(f, 409, "conflict", () => api("POST", "/v1/roles", { token: t, body: { name: "TASK-ADMIN", permissions: [] } }));
  });

  it("another tenant's user or role is a 404 whatever the caller holds; nothing changes in either tenant", async () => {
    const { f, member } = await scene();
    const other = await createTenant();
    const t = other.ownerToken;
    await refused(f, 404, "not_found", () => api("PATCH", `/v1/users/${member.user.id}`, { token: t, body: { first_name: "X" } }));
    await refused(f, 404, "not_found", () => api("PUT", `/v1/users/${member.user.id}`, { token: t, body: { email: "member@x.test" } }));
    await refused(f, 404, "not_found", () => api("DELETE", `/v1/users/${member.user.id}/sessions`, { token: t }));
    await refused(f, 404, "not_found", () => api("PUT", `/v1/users/me/shares/${member.user.id}`, { token: t, body: { scopes: ["data:read"] } }));
    await refused(f, 404, "not_found", () => api("PATCH", "/v1/roles/TASK-ADMIN", { token: t, body: { description: "X" } }));
    await refused(other, 404, "not_found", () => api("DELETE", "/v1/roles/TASK-ADMIN", { token: t }));
  });

  it("a merge that would take metadata past 16 KiB is a 422, and nothing changes", async () => {
    const { f, member } = await scene();
    await call("PATCH", `/v1/users/${member.user.id}`, { token: f.ownerToken, body: { metadata: { a: "x".repeat(10_000) } } });
    const problem = await refused(f, 422, "validation_failed", () =>
      api("PATCH", `/v1/users/${member.user.id}`, { token: f.ownerToken, body: { first_name: "Big", metadata: { b: "y".repeat(7_000) } } }),
    );
    expect(problem.errors).toEqual([{ path: "metadata", message: "metadata is larger than 16 KiB", code: "invalid_metadata" }]);
    // Exactly at the limit is fine: {"a":"x…"} plus ,"b":"…" of 16,384 bytes in all.
    const room = 16 * 1024 - JSON.stringify({ a: "x".repeat(10_000) }).length - ',"b":""'.length;
    expect((await call("PATCH", `/v1/users/${member.user.id}`, { token: f.ownerToken, body: { metadata: { b: "y".repeat(room) } } })).status).toBe(200);
    await refused(f, 422, "validation_failed", () => api("PATCH", `/v1/users/${member.user.id}`, { token: f.ownerToken, body: { metadata: { c: 1 } } }));
  });
});
