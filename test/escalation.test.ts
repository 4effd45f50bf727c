import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, tokenFor, userWithToken } from "./helpers";

/**
 * Every route that can change who holds what, attacked by principals that lack something:
 * nobody grants, revokes or defines permissions it does not hold.
 */

async function defineRole(tenantId: string, name: string, permissions: string[]) {
  const res = await call("POST", "/v1/roles", { token: PLATFORM_KEY, tenant: tenantId, body: { name, permissions } });
  if (res.status !== 201) throw new Error(`defineRole: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A tenant with TASK-ADMIN (tasks:admin), an admin, a member and an owner-held owner key. */
async function arena() {
  const fixture = await createTenant();
  const tenantId = fixture.tenant.id;
  await defineRole(tenantId, "TASK-ADMIN", ["tasks:admin"]);
  const admin = await userWithToken(tenantId, { email: "admin@x.test", roles: ["admin"] });
  const member = await userWithToken(tenantId, { email: "member@x.test", roles: ["member"] });
  const adminKey = (await call("POST", "/v1/api-keys", { token: fixture.ownerToken, body: { name: "admin key", roles: ["admin"] } })).body;
  return { ...fixture, tenantId, admin, member, adminKey: adminKey.key as string };
}

const rolesOf = async (tenantId: string, userId: string) =>
  (
    await env.DB.prepare("SELECT role FROM user_roles WHERE tenant_id = ? AND user_id = ? ORDER BY role").bind(tenantId, userId).all<{ role: string }>()
  ).results.map((r) => r.role);

const userCount = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

const keyCount = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

describe("POST /v1/users with roles", () => {
  it("an admin cannot create an owner or a holder of a custom role with tasks:admin; nothing is created", async () => {
    const { tenantId, admin } = await arena();
    const before = await userCount(tenantId);
    for (const roles of [["owner"], ["TASK-ADMIN"], ["member", "owner"]]) {
      const res = await api("POST", "/v1/users", { token: admin.token, body: { email: `x${roles.length}${roles[0]}@x.test`, roles } });
      const problem = await expectProblem(res, 403, "forbidden");
      expect(problem.detail).toMatch(/owner|TASK-ADMIN/);
    }
    expect(await userCount(tenantId)).toBe(before);
  });

  it("an admin may create admins and members (roles it could hold)", async () => {
    const { admin } = await arena();
    const res = await call("POST", "/v1/users", { token: admin.token, body: { email: "peer@x.test", roles: ["admin", "member"] } });
    expect(res.status).toBe(201);
    expect(res.body.roles).toEqual(["admin", "member"]);
  });

  it("an admin API key cannot create an owner either", async () => {
    const { adminKey } = await arena();
    await expectProblem(await api("POST", "/v1/users", { token: adminKey, body: { email: "o2@x.test", roles: ["owner"] } }), 403, "forbidden");
  });
});

describe("PATCH /v1/users/{id} roles", () => {
  it("an admin cannot grant owner or TASK-ADMIN, nor take owner away", async () => {
    const { tenantId, admin, member, owner } = await arena();
    for (const roles of [["owner"], ["TASK-ADMIN"], ["member", "TASK-ADMIN"]]) {
      await expectProblem(await api("PATCH", `/v1/users/${member.user.id}`, { token: admin.token, body: { roles } }), 403, "forbidden");
    }
    await expectProblem(await api("PATCH", `/v1/users/${owner.id}`, { token: admin.token, body: { roles: ["member"] } }), 403, "forbidden");
    expect(await rolesOf(tenantId, member.user.id)).toEqual(["member"]);
    expect(await rolesOf(tenantId, owner.id)).toEqual(["owner"]);
  });

  it("an admin may grant admin to a member", async () => {
    const { tenantId, admin, member } = await arena();
    expect((await api("PATCH", `/v1/users/${member.user.id}`, { token: admin.token, body: { roles: ["admin"] } })).status).toBe(200);
    expect(await rolesOf(tenantId, member.user.id)).toEqual(["admin"]);
  });

  it("a member cannot change its own roles, up or down, by id or through /me", async () => {
    const { tenantId, member } = await arena();
    for (const roles of [["admin"], ["owner"], [], ["member", "TASK-ADMIN"]]) {
      await expectProblem(await api("PATCH", `/v1/users/${member.user.id}`, { token: member.token, body: { roles } }), 403, "forbidden");
    }
    const me = await expectProblem(await api("PATCH", "/v1/users/me", { token: member.token, body: { roles: ["admin"] } }), 422, "validation_failed");
    expect(me.errors![0]).toMatchObject({ path: "roles", code: "unrecognized_key" });
    expect(await rolesOf(tenantId, member.user.id)).toEqual(["member"]);
  });

  it("an admin (users:write without roles:write) cannot change its own roles either", async () => {
    const { tenantId, admin } = await arena();
    await expectProblem(await api("PATCH", `/v1/users/${admin.user.id}`, { token: admin.token, body: { roles: ["member"] } }), 403, "forbidden");
    await expectProblem(await api("PATCH", `/v1/users/${admin.user.id}`, { token: admin.token, body: { roles: ["admin", "TASK-ADMIN"] } }), 403, "forbidden");
    expect(await rolesOf(tenantId, admin.user.id)).toEqual(["admin"]);
  });

  it("a holder of a wildcard (tasks:*) may grant a role inside it (tasks:admin)", async () => {
    const { tenantId, member } = await arena();
    await defineRole(tenantId, "TASK-LEAD", ["tasks:*", "users:read", "users:write"]);
    const lead = await userWithToken(tenantId, { email: "lead@x.test", roles: ["TASK-LEAD"] });
    expect((await api("PATCH", `/v1/users/${member.user.id}`, { token: lead.token, body: { roles: ["member", "TASK-ADMIN"] } })).status).toBe(200);
    expect(await rolesOf(tenantId, member.user.id)).toEqual(["TASK-ADMIN", "member"]);
    await expectProblem(await api("PATCH", `/v1/users/${member.user.id}`, { token: lead.token, body: { roles: ["admin"] } }), 403, "forbidden");
  });

  it("cannot reach a user of another tenant (404)", async () => {
    const a = await arena();
    const b = await createTenant();
    await expectProblem(await api("PATCH", `/v1/users/${a.member.user.id}`, { token: b.ownerToken, body: { roles: ["owner"] } }), 404, "not_found");
    expect(await rolesOf(a.tenantId, a.member.user.id)).toEqual(["member"]);
  });
});

describe("POST and PATCH /v1/roles with permissions", () => {
  /** A user whose only power is roles:* (it may manage roles, within what it holds). */
  async function roleManager(tenantId: string) {
    await defineRole(tenantId, "ROLE-MANAGER", ["roles:*"]);
    return userWithToken(tenantId, { email: "rm@x.test", roles: ["ROLE-MANAGER"] });
  }

  it("a role manager cannot define a role with permissions it lacks (tasks:admin, users:*, *)", async () => {
    const { tenantId } = await arena();
    const rm = await roleManager(tenantId);
    for (const permissions of [["tasks:admin"], ["users:*"], ["*"], ["roles:read", "tasks:admin"]]) {
      const res = await api("POST", "/v1/roles", { token: rm.token, body: { name: "SNEAKY", permissions } });
      await expectProblem(res, 403, "forbidden");
    }
    expect((await call("GET", "/v1/roles/SNEAKY", { token: PLATFORM_KEY, tenant: tenantId })).status).toBe(404);
  });

  it("a role manager may define roles within what it holds", async () => {
    const { tenantId } = await arena();
    const rm = await roleManager(tenantId);
    const res = await call("POST", "/v1/roles", { token: rm.token, body: { name: "ROLE-READER", permissions: ["roles:read"] } });
    expect(res.status).toBe(201);
  });

  it("a role manager cannot widen its own role, nor add to or take from a role it does not fully hold", async () => {
    const { tenantId } = await arena();
    const rm = await roleManager(tenantId);
    await expectProblem(
      await api("PATCH", "/v1/roles/ROLE-MANAGER", { token: rm.token, body: { permissions: ["roles:*", "users:write"] } }),
      403,
      "forbidden",
    );
    await expectProblem(await api("PATCH", "/v1/roles/TASK-ADMIN", { token: rm.token, body: { permissions: [] } }), 403, "forbidden");
    await expectProblem(await api("PATCH", "/v1/roles/TASK-ADMIN", { token: rm.token, body: { permissions: ["tasks:admin", "roles:read"] } }), 403, "forbidden");
    await expectProblem(await api("DELETE", "/v1/roles/TASK-ADMIN", { token: rm.token }), 403, "forbidden");
    const row = await env.DB.prepare("SELECT permissions FROM roles WHERE tenant_id = ? AND name = 'TASK-ADMIN'").bind(tenantId).first<{ permissions: string }>();
    expect(row!.permissions).toBe('["tasks:admin"]');
  });

  it("an admin cannot define roles at all (no roles:write)", async () => {
    const { admin } = await arena();
    await expectProblem(await api("POST", "/v1/roles", { token: admin.token, body: { name: "X", permissions: [] } }), 403, "forbidden");
    await expectProblem(await api("PATCH", "/v1/roles/TASK-ADMIN", { token: admin.token, body: { permissions: ["users:read"] } }), 403, "forbidden");
  });
});

describe("POST /v1/api-keys with roles", () => {
  it("a key with the admin role cannot mint an owner key or a TASK-ADMIN key", async () => {
    const { tenantId, adminKey } = await arena();
    const before = await keyCount(tenantId);
    for (const roles of [["owner"], ["TASK-ADMIN"], ["admin", "owner"]]) {
      await expectProblem(await api("POST", "/v1/api-keys", { token: adminKey, body: { name: "escalate", roles } }), 403, "forbidden");
    }
    expect(await keyCount(tenantId)).toBe(before);
  });

  it("an admin user cannot mint an owner key either; admin and member keys are fine", async () => {
    const { admin } = await arena();
    await expectProblem(await api("POST", "/v1/api-keys", { token: admin.token, body: { name: "o", roles: ["owner"] } }), 403, "forbidden");
    const ok = await call("POST", "/v1/api-keys", { token: admin.token, body: { name: "a", roles: ["admin", "member"] } });
    expect(ok.status).toBe(201);
  });

  it("a key's grandchild never outgrows it: an admin key's admin key still cannot grant owner", async () => {
    const { adminKey } = await arena();
    const child = (await call("POST", "/v1/api-keys", { token: adminKey, body: { name: "child", roles: ["admin"] } })).body.key;
    await expectProblem(await api("POST", "/v1/users", { token: child, body: { email: "o3@x.test", roles: ["owner"] } }), 403, "forbidden");
    await expectProblem(await api("POST", "/v1/api-keys", { token: child, body: { name: "o", roles: ["owner"] } }), 403, "forbidden");
  });

  it("an admin cannot revoke a key that carries permissions it lacks (owner key)", async () => {
    const { ownerToken, admin } = await arena();
    const ownerKey = (await call("POST", "/v1/api-keys", { token: ownerToken, body: { name: "owner", roles: ["owner"] } })).body;
    await expectProblem(await api("DELETE", `/v1/api-keys/${ownerKey.id}`, { token: admin.token }), 403, "forbidden");
    expect((await api("GET", "/v1/users", { token: ownerKey.key })).status).toBe(200);
  });
});

describe("role changes take effect on the next request", () => {
  it("a demoted admin loses its permissions at once, even with a token issued before", async () => {
    const { tenantId, ownerToken, admin } = await arena();
    const token = await tokenFor(tenantId, admin.user.id);
    expect((await api("GET", "/v1/api-keys", { token })).status).toBe(200);
    expect((await api("PATCH", `/v1/users/${admin.user.id}`, { token: ownerToken, body: { roles: ["member"] } })).status).toBe(200);
    await expectProblem(await api("GET", "/v1/api-keys", { token }), 403, "forbidden");
    await expectProblem(await api("POST", "/v1/users", { token, body: { email: "late@x.test" } }), 403, "forbidden");
  });
});

describe("taking over a more privileged user", () => {
  /** Everything of a user that a takeover would touch, to check that a refusal changed nothing. */
  const wayIn = async (tenantId: string, userId: string) =>
    env.DB.prepare(
      "SELECT email, username, external_id, is_active, deleted_at, version, (SELECT count(*) FROM sessions s WHERE s.user_id = u.id) AS sessions FROM users u WHERE tenant_id = ? AND id = ?",
    )
      .bind(tenantId, userId)
      .first();

  it("an admin cannot issue a reset token for, re-address, deactivate or delete an owner; nothing changes", async () => {
    const { tenantId, owner, admin, adminKey } = await arena();
    // A second owner, so that the last-owner rule (409) does not answer first.
    await userWithToken(tenantId, { email: "owner2@x.test", roles: ["owner"] });
    const before = await wayIn(tenantId, owner.id);
    for (const token of [admin.token, adminKey]) {
      const attempts: [string, string, unknown][] = [
        ["POST", `/v1/users/${owner.id}/password-resets`, {}],
        ["PATCH", `/v1/users/${owner.id}`, { email: "attacker@x.test" }],
        ["PATCH", `/v1/users/${owner.id}`, { username: "taken-over" }],
        ["PATCH", `/v1/users/${owner.id}`, { external_id: "attacker-idp-subject" }],
        ["PATCH", `/v1/users/${owner.id}`, { is_active: false }],
        ["PUT", `/v1/users/${owner.id}`, { email: "attacker@x.test" }],
        ["DELETE", `/v1/users/${owner.id}`, undefined],
      ];
      for (const [method, path, body] of attempts) {
        const problem = await expectProblem(await api(method, path, { token, body }), 403, "forbidden");
        expect(problem.detail, `${method} ${path} ${JSON.stringify(body)}`).toMatch(/permissions you do not hold/);
      }
    }
    expect(await wayIn(tenantId, owner.id)).toEqual(before);
  });

  it("deactivating or deleting the last owner is a 409 last_owner for an admin too, not a 403", async () => {
    const { tenantId, owner, admin } = await arena();
    const before = await wayIn(tenantId, owner.id);
    await expectProblem(await api("PATCH", `/v1/users/${owner.id}`, { token: admin.token, body: { is_active: false } }), 409, "last_owner");
    await expectProblem(await api("DELETE", `/v1/users/${owner.id}`, { token: admin.token }), 409, "last_owner");
    // Other changes to the sign-in are still about who may act: 403.
    await expectProblem(await api("PATCH", `/v1/users/${owner.id}`, { token: admin.token, body: { email: "x@x.test" } }), 403, "forbidden");
    expect(await wayIn(tenantId, owner.id)).toEqual(before);
  });

  it("the same holds for a custom role the admin lacks (tasks:admin)", async () => {
    const { tenantId, admin } = await arena();
    const taskAdmin = await userWithToken(tenantId, { email: "tasks@x.test", roles: ["TASK-ADMIN"] });
    await expectProblem(await api("POST", `/v1/users/${taskAdmin.user.id}/password-resets`, { token: admin.token, body: {} }), 403, "forbidden");
    await expectProblem(await api("DELETE", `/v1/users/${taskAdmin.user.id}`, { token: admin.token }), 403, "forbidden");
  });

  it("an admin may still edit an owner's names and metadata, and act fully on admins and members", async () => {
    const { owner, admin, member, tenantId } = await arena();
    expect((await call("PATCH", `/v1/users/${owner.id}`, { token: admin.token, body: { first_name: "Olive", metadata: { a: 1 } } })).status).toBe(200);
    // A change that leaves the sign-in as it is (same email, other case) needs nothing more.
    expect((await call("PATCH", `/v1/users/${owner.id}`, { token: admin.token, body: { email: owner.email.toUpperCase() } })).status).toBe(200);
    const peer = await userWithToken(tenantId, { email: "peer@x.test", roles: ["admin"] });
    expect((await call("POST", `/v1/users/${member.user.id}/password-resets`, { token: admin.token, body: {} })).status).toBe(201);
    expect((await call("POST", `/v1/users/${peer.user.id}/password-resets`, { token: admin.token, body: {} })).status).toBe(201);
    expect((await call("PATCH", `/v1/users/${member.user.id}`, { token: admin.token, body: { email: "m2@x.test", is_active: false } })).status).toBe(200);
    expect((await call("DELETE", `/v1/users/${peer.user.id}`, { token: admin.token })).status).toBe(204);
  });

  it("owners and platform keys act on owners; a user acts on themselves", async () => {
    const { tenantId, owner, ownerToken } = await arena();
    const second = await userWithToken(tenantId, { email: "owner2@x.test", roles: ["owner"] });
    expect((await call("POST", `/v1/users/${second.user.id}/password-resets`, { token: ownerToken, body: {} })).status).toBe(201);
    expect((await call("PATCH", `/v1/users/${second.user.id}`, { token: PLATFORM_KEY, tenant: tenantId, body: { email: "o2b@x.test" } })).status).toBe(200);
    expect((await call("POST", `/v1/users/${owner.id}/password-resets`, { token: ownerToken, body: {} })).status).toBe(201);
    expect((await call("PATCH", `/v1/users/${second.user.id}`, { token: ownerToken, body: { is_active: false } })).status).toBe(200);
    expect((await call("DELETE", `/v1/users/${second.user.id}`, { token: ownerToken })).status).toBe(204);
  });
});
