import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, PLATFORM_KEY, userWithToken } from "./helpers";
import { createKey, expireKey, sessionIdOf, temporaryPasswordToken } from "./rpc-fixtures";

// The entrypoint as a sibling Worker's binding reaches it (a loopback service binding).
const rpc = exports.UserplaneRpc;

describe("UserplaneRpc.authenticate", () => {
  it("a user: every field of the principal", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    await call("POST", "/v1/roles", { token: ownerToken, body: { name: "TASK-ADMIN", permissions: ["tasks:admin", "chat:*"] } });
    const { user, token } = await userWithToken(tenant.id, { email: "u@x.test", roles: ["member", "TASK-ADMIN"] });
    expect(await rpc.authenticate(token)).toEqual({
      kind: "user",
      tenant_id: tenant.id,
      user_id: user.id,
      session_id: sessionIdOf(token),
      key_id: null,
      roles: expect.arrayContaining(["member", "TASK-ADMIN"]),
      permissions: expect.arrayContaining(["tasks:admin", "chat:*"]),
      password_change_required: false,
    });
    const ownerPrincipal = await rpc.authenticate(ownerToken);
    expect(ownerPrincipal).toMatchObject({ user_id: owner.id, roles: ["owner"], permissions: ["*"] });
  });

  it("a tenant API key made by a user: user_id is its creator, session_id null", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const key = await createKey(ownerToken, { name: "ci", roles: ["admin"] });
    expect(await rpc.authenticate(key.key)).toEqual({
      kind: "api_key",
      tenant_id: tenant.id,
      user_id: owner.id,
      session_id: null,
      key_id: key.id,
      roles: ["admin"],
      permissions: ["users:*", "sessions:*", "api_keys:*", "events:*", "webhooks:*", "roles:read"],
      password_change_required: false,
    });
  });

  it("a tenant API key made by a platform key: user_id null", async () => {
    const { tenant } = await createTenant();
    const key = await createKey(PLATFORM_KEY, { name: "ops", roles: ["member"] }, tenant.id);
    expect(await rpc.authenticate(key.key)).toEqual({
      kind: "api_key",
      tenant_id: tenant.id,
      user_id: null,
      session_id: null,
      key_id: key.id,
      roles: ["member"],
      permissions: [],
      password_change_required: false,
    });
  });

  it("the bootstrap key: a platform principal with no tenant and key_id null", async () => {
    expect(await rpc.authenticate(PLATFORM_KEY)).toEqual({
      kind: "platform",
      tenant_id: null,
      user_id: null,
      session_id: null,
      key_id: null,
      roles: ["owner"],
      permissions: ["*"],
      password_change_required: false,
    });
  });

  it("a platform key a platform key created: key_id is its id", async () => {
    const key = await createKey(PLATFORM_KEY, { name: "platform-2", roles: [] });
    expect(key.tenant_id).toBeNull();
    expect(await rpc.authenticate(key.key)).toEqual({
      kind: "platform",
      tenant_id: null,
      user_id: null,
      session_id: null,
      key_id: key.id,
      roles: ["owner"],
      permissions: ["*"],
      password_change_required: false,
    });
  });

  it("a temporary password: the principal says password_change_required", async () => {
    const { tenant } = await createTenant();
    const token = await temporaryPasswordToken(tenant, "temp@x.test");
    expect(await rpc.authenticate(token)).toMatchObject({ kind: "user", password_change_required: true });
  });

  it("null, never a throw, for every refused credential", async () => {
    const { tenant, ownerToken } = await createTenant();
    const revoked = await userWithToken(tenant.id, { email: "revoked@x.test" });
    const sid = sessionIdOf(revoked.token);
    expect((await api("DELETE", `/v1/users/${revoked.user.id}/sessions/${sid}`, { token: ownerToken })).status).toBe(204);
    const deleted = await userWithToken(tenant.id, { email: "deleted@x.test" });
    expect((await api("DELETE", `/v1/users/${deleted.user.id}`, { token: ownerToken })).status).toBe(204);
    const inactive = await userWithToken(tenant.id, { email: "inactive@x.test" });
    const patched = await call("PATCH", `/v1/users/${inactive.user.id}`, { token: ownerToken, body: { is_active: false } });
    expect(patched.status).toBe(200);
    const expired = await createKey(ownerToken, { name: "old", roles: [] });
    await expireKey(expired.id);
    const [header, payload] = ownerToken.split(".");
    const forged = `${header}.${payload}.${"A".repeat(86)}`;

    for (const credential of [
      revoked.token,
      deleted.token,
      inactive.token,
      expired.key,
      forged,
      "up_not_a_key",
      "not-a-jwt",
      "",
      `${ownerToken} extra`,
      "up_é\u0100\n",
      42 as unknown as string,
      null as unknown as string,
    ]) {
      expect(await rpc.authenticate(credential), String(credential).slice(0, 20)).toBeNull();
    }
    // The live ones still pass: the refusals above are about those credentials, not the tenant.
    expect(await rpc.authenticate(ownerToken)).not.toBeNull();
  });
});

describe("UserplaneRpc.can", () => {
  it("true when a role grants it (wildcards honoured), false when not", async () => {
    const { tenant, ownerToken } = await createTenant();
    await call("POST", "/v1/roles", { token: ownerToken, body: { name: "CHAT-USER", permissions: ["chat:*"] } });
    const { token } = await userWithToken(tenant.id, { email: "c@x.test", roles: ["CHAT-USER"] });
    expect(await rpc.can(token, "chat:use")).toBe(true);
    expect(await rpc.can(token, "chat:*")).toBe(true);
    expect(await rpc.can(token, "tasks:admin")).toBe(false);
    expect(await rpc.can(token, "*")).toBe(false);
    expect(await rpc.can(ownerToken, "tasks:admin")).toBe(true);
  });

  it("false for a refused credential and for a user who must change a temporary password", async () => {
    const { tenant, ownerToken } = await createTenant();
    const temp = await temporaryPasswordToken(tenant, "temp@x.test");
    expect(await rpc.can("up_nope", "users:read")).toBe(false);
    expect(await rpc.can(`${ownerToken}x`, "users:read")).toBe(false);
    expect(await rpc.can(temp, "users:read")).toBe(false);
    // The same user's permissions are known, they just may not use them yet.
    expect(await rpc.authenticate(temp)).toMatchObject({ password_change_required: true });
  });

  it("a platform credential: false without options.tenant, true with its id or slug, false for an unknown tenant", async () => {
    const { tenant } = await createTenant();
    expect(await rpc.can(PLATFORM_KEY, "users:read")).toBe(false);
    expect(await rpc.can(PLATFORM_KEY, "users:read", { tenant: tenant.id })).toBe(true);
    expect(await rpc.can(PLATFORM_KEY, "users:read", { tenant: tenant.slug })).toBe(true);
    expect(await rpc.can(PLATFORM_KEY, "users:read", { tenant: "ten_doesnotexist" })).toBe(false);
  });

  it("a tenant principal's own tenant wins over options.tenant", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const member = await userWithToken(a.tenant.id, { email: "m@x.test" });
    expect(await rpc.can(a.ownerToken, "users:read", { tenant: b.tenant.id })).toBe(true);
    expect(await rpc.can(member.token, "users:read", { tenant: b.tenant.id })).toBe(false);
    // ...and getUser cannot reach the other tenant through it.
    expect(await rpc.getUser(a.ownerToken, b.owner.id, { tenant: b.tenant.id })).toBeNull();
  });

  it("a malformed permission is held by nobody: false, never a throw", async () => {
    const { ownerToken } = await createTenant();
    expect(await rpc.can(ownerToken, "users:read")).toBe(true);
    for (const permission of ["users", "users:", ":read", "a:b:c", "", " users:read", 7 as unknown as string]) {
      expect(await rpc.can(ownerToken, permission), String(permission)).toBe(false);
    }
  });
});

describe("UserplaneRpc.getUser", () => {
  it("the User exactly as GET /v1/users/{id} gives it to that caller", async () => {
    const { tenant, ownerToken } = await createTenant();
    const { user } = await userWithToken(tenant.id, { email: "g@x.test", first_name: "Grace" });
    const viaHttp = await call("GET", `/v1/users/${user.id}`, { token: ownerToken });
    expect(viaHttp.status).toBe(200);
    expect(await rpc.getUser(ownerToken, user.id)).toEqual(viaHttp.body);
  });

  it("null wherever the route is no 200: invisible, unknown, another tenant, refused, temporary password", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const member = await userWithToken(a.tenant.id, { email: "m@x.test" });
    const other = await userWithToken(a.tenant.id, { email: "o@x.test" });
    const temp = await temporaryPasswordToken(a.tenant, "temp@x.test");
    expect(await rpc.getUser(member.token, other.user.id)).toBeNull();
    expect(await rpc.getUser(member.token, member.user.id)).toMatchObject({ id: member.user.id });
    expect(await rpc.getUser(a.ownerToken, "usr_00000000000000000000000000")).toBeNull();
    expect(await rpc.getUser(a.ownerToken, b.owner.id)).toBeNull();
    expect(await rpc.getUser("up_nope", member.user.id)).toBeNull();
    expect(await rpc.getUser(temp, member.user.id)).toBeNull();
    // Ids that would route elsewhere (the list, another path) are no user ids.
    for (const id of ["", ".", "..", "../tenants", "a?b=1", "x".repeat(65), 5 as unknown as string]) {
      expect(await rpc.getUser(a.ownerToken, id), String(id)).toBeNull();
    }
  });

  it("a platform credential: null without options.tenant, the User with it", async () => {
    const { tenant, owner } = await createTenant();
    expect(await rpc.getUser(PLATFORM_KEY, owner.id)).toBeNull();
    expect(await rpc.getUser(PLATFORM_KEY, owner.id, { tenant: tenant.slug })).toMatchObject({ id: owner.id, tenant_id: tenant.id });
    // A tenant no header could name is no tenant: null and false, never a throw.
    for (const bad of ["a\nb", "\u0100", 5 as unknown as string, "x".repeat(256)]) {
      expect(await rpc.getUser(PLATFORM_KEY, owner.id, { tenant: bad }), String(bad)).toBeNull();
      expect(await rpc.can(PLATFORM_KEY, "users:read", { tenant: bad }), String(bad)).toBe(false);
    }
  });

  it("a tenant principal ignores whatever options.tenant says", async () => {
    const { owner, ownerToken } = await createTenant();
    for (const tenant of ["a\nb", "ten_other", "!"]) {
      expect(await rpc.getUser(ownerToken, owner.id, { tenant }), tenant).toMatchObject({ id: owner.id });
    }
  });
});

describe("UserplaneRpc.fetch", () => {
  it("answers the whole HTTP API", async () => {
    const health = await rpc.fetch("https://userplane.internal/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const me = await rpc.fetch("https://userplane.internal/v1/users/me", { headers: { Authorization: "Bearer nope" } });
    expect(me.status).toBe(401);
    expect(me.headers.get("WWW-Authenticate")).toBe("Bearer");
  });
});
