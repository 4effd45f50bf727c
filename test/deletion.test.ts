import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

/** Tables that hold rows owned by a user, and the columns that name the user. */
const USER_COLUMNS: [table: string, column: string][] = [
  ["users", "id"],
  ["users", "manager_id"],
  ["user_roles", "user_id"],
  ["shares", "owner_id"],
  ["shares", "grantee_id"],
  ["sessions", "user_id"],
  ["refresh_tokens", "user_id"],
  ["api_keys", "user_id"],
];

/** Rows anywhere in the database that still name one of these users. */
async function leftovers(ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [table, column] of USER_COLUMNS) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`)
      .bind(JSON.stringify(ids))
      .first<{ n: number }>();
    if (row!.n > 0) out[`${table}.${column}`] = row!.n;
  }
  return out;
}

/** Gives a user a session, a refresh token, an API key and role grant rows, straight in D1. */
async function giveBelongings(tenantId: string, userId: string) {
  const now = new Date().toISOString();
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const sid = `ses_${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.batch([
    env.DB.prepare("INSERT INTO sessions (id, tenant_id, user_id, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)").bind(sid, tenantId, userId, now, now, later),
    env.DB.prepare("INSERT INTO refresh_tokens (hash, tenant_id, user_id, session_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)").bind(crypto.randomUUID(), tenantId, userId, sid, now, later),
    env.DB.prepare("INSERT INTO api_keys (id, tenant_id, user_id, name, roles, hash, prefix, created_at) VALUES (?, ?, ?, 'k', '[]', ?, 'up_x', ?)").bind(`key_${crypto.randomUUID()}`, tenantId, userId, crypto.randomUUID(), now),
  ]);
}

/** Seeds `count` managed users of a manager straight into D1 (fast, not through the API). */
async function seedManaged(tenantId: string, managerId: string, count: number): Promise<string[]> {
  const now = new Date().toISOString();
  const rows = await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO users (id, tenant_id, first_name, last_name, is_managed, manager_id, created_at, updated_at)
     SELECT 'usr_seed' || lower(hex(randomblob(10))), ?, 'Kid', 'No' || i, 1, ?, ?, ? FROM n
     RETURNING id`,
  )
    .bind(count, tenantId, managerId, now, now)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

const coordinator = (tenantId: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(tenantId));

describe("DELETE /v1/users/{id}", () => {
  it("deletes the user, the users they manage and everything only they own, leaving others untouched", async () => {
    const f = await createTenant();
    const manager = await userWithToken(f.tenant.id, { email: "m@x.test", roles: ["member"] });
    const other = await userWithToken(f.tenant.id, { email: "o@x.test", roles: ["member"] });
    const kid = await call("POST", "/v1/users/me/managed-users", { token: manager.token, body: { first_name: "Kid", last_name: "One" } });
    expect(kid.status).toBe(201);
    // Shares both ways, and belongings of everyone involved.
    expect((await call("PUT", `/v1/users/me/shares/${other.user.id}`, { token: manager.token, body: { scopes: ["data:read"] } })).status).toBe(200);
    expect((await call("PUT", `/v1/users/me/shares/${manager.user.id}`, { token: other.token, body: { scopes: ["profile:read"] } })).status).toBe(200);
    await giveBelongings(f.tenant.id, manager.user.id);
    await giveBelongings(f.tenant.id, kid.body.id);
    await giveBelongings(f.tenant.id, other.user.id);
    const otherBefore = await leftovers([other.user.id]);

    const res = await api("DELETE", `/v1/users/${manager.user.id}`, { token: f.ownerToken });
    expect(res.status).toBe(204);

    expect(await leftovers([manager.user.id, kid.body.id])).toEqual({});
    // The other user keeps their own rows; only the shares that named the deleted user went.
    const otherAfter = await leftovers([other.user.id]);
    expect(otherAfter["sessions.user_id"]).toBe(otherBefore["sessions.user_id"]);
    expect(otherAfter["api_keys.user_id"]).toBe(1);
    expect(otherAfter["shares.owner_id"]).toBeUndefined();
    expect(otherAfter["shares.grantee_id"]).toBeUndefined();
    // Their tokens stop working at once.
    expect((await api("GET", "/v1/users/me", { token: manager.token })).status).toBe(401);
    expect((await api("GET", `/v1/users/${kid.body.id}`, { token: f.ownerToken })).status).toBe(404);
    // One user.deleted event per deleted user.
    const events = await env.DB.prepare("SELECT data FROM events WHERE tenant_id = ? AND type = 'user.deleted'").bind(f.tenant.id).all<{ data: string }>();
    expect(events.results.map((e) => JSON.parse(e.data).user_id).sort()).toEqual([manager.user.id, kid.body.id].sort());
  });

  it("lets a manager delete a managed user and the user delete themselves, but not an unrelated member", async () => {
    const f = await createTenant();
    const manager = await userWithToken(f.tenant.id, { email: "m@x.test" });
    const member = await userWithToken(f.tenant.id, { email: "n@x.test" });
    const kid = await call("POST", "/v1/users/me/managed-users", { token: manager.token, body: { first_name: "A", last_name: "B" } });
    // Another member cannot see the managed user at all: 404, not 403.
    await expectProblem(await api("DELETE", `/v1/users/${kid.body.id}`, { token: member.token }), 404, "not_found");
    // A member who can see a user through a share still may not delete them.
    await call("PUT", `/v1/users/me/shares/${member.user.id}`, { token: manager.token, body: { scopes: ["data:write", "profile:write"] } });
    await expectProblem(await api("DELETE", `/v1/users/${manager.user.id}`, { token: member.token }), 403, "forbidden");
    expect((await api("DELETE", `/v1/users/${kid.body.id}`, { token: manager.token })).status).toBe(204);
    expect((await api("DELETE", `/v1/users/${member.user.id}`, { token: member.token })).status).toBe(204);
    expect(await leftovers([kid.body.id, member.user.id])).toEqual({});
  });

  it("DELETE /v1/users/me deletes the caller (and is the last owner's 409 like their id)", async () => {
    const f = await createTenant();
    const member = await userWithToken(f.tenant.id, { email: "self@x.test" });
    expect((await api("DELETE", "/v1/users/me", { token: member.token })).status).toBe(204);
    expect(await leftovers([member.user.id])).toEqual({});
    await expectProblem(await api("GET", "/v1/users/me", { token: member.token }), 401, "unauthorized");
    await expectProblem(await api("DELETE", "/v1/users/me", { token: f.ownerToken }), 409, "last_owner");
  });

  it("is a 404 for a user of another tenant, whoever asks", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const victim = await userWithToken(b.tenant.id, { email: "v@x.test" });
    await expectProblem(await api("DELETE", `/v1/users/${victim.user.id}`, { token: a.ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", `/v1/users/${victim.user.id}`, { token: PLATFORM_KEY, tenant: a.tenant.id }), 404, "not_found");
    expect((await api("GET", "/v1/users/me", { token: victim.token })).status).toBe(200);
  });

  it("refuses to delete the tenant's last active owner (409) and changes nothing", async () => {
    const f = await createTenant();
    await expectProblem(await api("DELETE", `/v1/users/${f.owner.id}`, { token: f.ownerToken }), 409, "last_owner");
    expect((await api("GET", "/v1/users/me", { token: f.ownerToken })).status).toBe(200);
    const deleted = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ? AND type = 'user.deleted'").bind(f.tenant.id).first<{ n: number }>();
    expect(deleted!.n).toBe(0);
  });

  it("honours If-Match: a stale ETag is a 412 and deletes nothing", async () => {
    const f = await createTenant();
    const u = await userWithToken(f.tenant.id, { email: "e@x.test" });
    await expectProblem(await api("DELETE", `/v1/users/${u.user.id}`, { token: f.ownerToken, headers: { "If-Match": '"stale"' } }), 412, "precondition_failed");
    expect((await api("GET", `/v1/users/${u.user.id}`, { token: f.ownerToken })).status).toBe(200);
    const current = await api("GET", `/v1/users/${u.user.id}`, { token: f.ownerToken });
    const res = await api("DELETE", `/v1/users/${u.user.id}`, { token: f.ownerToken, headers: { "If-Match": current.headers.get("ETag")! } });
    expect(res.status).toBe(204);
  });

  it("the delete itself holds the If-Match version: a change landing after the check still stops it", async () => {
    const f = await createTenant();
    const manager = await userWithToken(f.tenant.id, { email: "m@x.test" });
    const kids = await seedManaged(f.tenant.id, manager.user.id, 2);
    const read = async () => (await env.DB.prepare("SELECT version FROM users WHERE id = ?").bind(manager.user.id).first<{ version: number }>())!.version;
    const pinned = await read();
    // As if a PATCH landed between the route's check of the tag and the delete.
    expect((await call("PATCH", `/v1/users/${manager.user.id}`, { token: f.ownerToken, body: { first_name: "Changed" } })).status).toBe(200);
    expect(await coordinator(f.tenant.id).deleteUser(f.tenant.id, manager.user.id, {}, pinned)).toBe("stale");
    expect((await api("GET", "/v1/users/me", { token: manager.token })).status).toBe(200);
    for (const id of kids) expect((await api("GET", `/v1/users/${id}`, { token: f.ownerToken })).status).toBe(200);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ? AND type = 'user.deleted'").bind(f.tenant.id).first<{ n: number }>();
    expect(events!.n).toBe(0);
    expect(await coordinator(f.tenant.id).deleteUser(f.tenant.id, manager.user.id, {}, await read())).toBe("deleted");
    expect((await api("GET", `/v1/users/${manager.user.id}`, { token: f.ownerToken })).status).toBe(404);
  });

  it("finishes an interrupted cascade on a retried DELETE, leaving no row behind", async () => {
    const f = await createTenant();
    const manager = await userWithToken(f.tenant.id, { email: "m@x.test" });
    const kids = await seedManaged(f.tenant.id, manager.user.id, 300);
    await giveBelongings(f.tenant.id, kids[0]!);
    expect(await coordinator(f.tenant.id).deleteUser(f.tenant.id, manager.user.id, { stopAfterChunks: 1 })).toBe("interrupted");
    // Midway: invisible and unusable already, but rows remain.
    expect((await api("GET", `/v1/users/${manager.user.id}`, { token: f.ownerToken })).status).toBe(404);
    expect((await api("GET", "/v1/users/me", { token: manager.token })).status).toBe(401);
    expect(Object.keys(await leftovers([manager.user.id, ...kids])).length).toBeGreaterThan(0);

    expect((await api("DELETE", `/v1/users/${manager.user.id}`, { token: f.ownerToken })).status).toBe(204);
    expect(await leftovers([manager.user.id, ...kids])).toEqual({});
    // Done means done: a further DELETE is an ordinary 404.
    expect((await api("DELETE", `/v1/users/${manager.user.id}`, { token: f.ownerToken })).status).toBe(404);
  });

  it("finishes an interrupted cascade from the coordinator's alarm", async () => {
    const f = await createTenant();
    const manager = await userWithToken(f.tenant.id, { email: "m@x.test" });
    const kids = await seedManaged(f.tenant.id, manager.user.id, 300);
    const stub = coordinator(f.tenant.id);
    expect(await stub.deleteUser(f.tenant.id, manager.user.id, { stopAfterChunks: 1 })).toBe("interrupted");
    expect(Object.keys(await leftovers([manager.user.id, ...kids])).length).toBeGreaterThan(0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await leftovers([manager.user.id, ...kids])).toEqual({});
  });

  it("deletes a manager with 5,000 managed users in one request", async () => {
    const f = await createTenant();
    const manager = await userWithToken(f.tenant.id, { email: "big@x.test" });
    const kids = await seedManaged(f.tenant.id, manager.user.id, 5000);
    const res = await api("DELETE", `/v1/users/${manager.user.id}`, { token: f.ownerToken });
    expect(res.status).toBe(204);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ? AND (manager_id = ? OR id = ?)").bind(f.tenant.id, manager.user.id, manager.user.id).first<{ n: number }>();
    expect(left!.n).toBe(0);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ? AND type = 'user.deleted'").bind(f.tenant.id).first<{ n: number }>();
    expect(events!.n).toBe(kids.length + 1);
    // The owner is untouched.
    expect((await api("GET", "/v1/users/me", { token: f.ownerToken })).status).toBe(200);
    // A rule about completeness, not speed: 5,000 cascaded deletes (with their counter triggers)
    // take seconds on a quiet machine and far longer on a loaded one.
  }, 180_000);
});

describe("foreign keys", () => {
  it("are enforced by D1: a session for a user that does not exist is refused", async () => {
    const f = await createTenant();
    const now = new Date().toISOString();
    await expect(
      env.DB.prepare("INSERT INTO sessions (id, tenant_id, user_id, created_at, last_used_at, expires_at) VALUES ('ses_x', ?, 'usr_missing', ?, ?, ?)")
        .bind(f.tenant.id, now, now, now)
        .run(),
    ).rejects.toThrow(/FOREIGN KEY/);
  });
});

describe("DELETE /v1/tenants/{id}", () => {
  it("removes the tenant and everything in it, records tenant.deleted, and leaves other tenants alone", async () => {
    const f = await createTenant();
    const keep = await createTenant();
    const m = await userWithToken(f.tenant.id, { email: "m@x.test" });
    await call("POST", "/v1/users/me/managed-users", { token: m.token, body: { first_name: "K", last_name: "L" } });
    await giveBelongings(f.tenant.id, m.user.id);
    await call("POST", "/v1/users", { token: f.ownerToken, body: { email: "idem@x.test" }, headers: { "Idempotency-Key": "k1" } });

    const res = await api("DELETE", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY });
    expect(res.status).toBe(204);

    for (const table of ["users", "user_roles", "roles", "shares", "sessions", "refresh_tokens", "api_keys", "events", "idempotency_keys"]) {
      const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`).bind(f.tenant.id).first<{ n: number }>();
      expect(row!.n, table).toBe(0);
    }
    expect(await env.DB.prepare("SELECT id FROM tenants WHERE id = ?").bind(f.tenant.id).first()).toBeNull();
    const feed = await env.DB.prepare("SELECT data FROM events WHERE tenant_id IS NULL AND type = 'tenant.deleted'").all<{ data: string }>();
    expect(feed.results.some((e) => JSON.parse(e.data).tenant_id === f.tenant.id)).toBe(true);
    expect((await api("GET", "/v1/users/me", { token: f.ownerToken })).status).toBe(401);
    expect((await api("GET", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY })).status).toBe(404);
    expect((await api("GET", "/v1/users/me", { token: keep.ownerToken })).status).toBe(200);
  });

  it("the delete itself holds the If-Match version: a change landing after the check still stops it", async () => {
    const f = await createTenant();
    const version = async () => (await env.DB.prepare("SELECT version FROM tenants WHERE id = ?").bind(f.tenant.id).first<{ version: number }>())!.version;
    const pinned = await version();
    expect((await call("PATCH", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY, body: { name: "Renamed" } })).status).toBe(200);
    expect(await coordinator(f.tenant.id).deleteTenant(f.tenant.id, {}, pinned)).toBe("stale");
    expect((await api("GET", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY })).status).toBe(200);
    expect((await api("GET", "/v1/users/me", { token: f.ownerToken })).status).toBe(200);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE type = 'tenant.deleted' AND data LIKE ?").bind(`%${f.tenant.id}%`).first<{ n: number }>();
    expect(events!.n).toBe(0);
    expect(await coordinator(f.tenant.id).deleteTenant(f.tenant.id, {}, await version())).toBe("deleted");
  });

  it("is finished by a retried DELETE after an interruption", async () => {
    const f = await createTenant();
    const m = await userWithToken(f.tenant.id, { email: "m@x.test" });
    await seedManaged(f.tenant.id, m.user.id, 300);
    expect(await coordinator(f.tenant.id).deleteTenant(f.tenant.id, { stopAfterChunks: 1 })).toBe("interrupted");
    expect((await api("GET", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY })).status).toBe(404);
    expect((await api("DELETE", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY })).status).toBe(204);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(f.tenant.id).first<{ n: number }>();
    expect(row!.n).toBe(0);
    expect(await env.DB.prepare("SELECT id FROM tenants WHERE id = ?").bind(f.tenant.id).first()).toBeNull();
  });

  it("is for platform principals only", async () => {
    const f = await createTenant();
    await expectProblem(await api("DELETE", `/v1/tenants/${f.tenant.id}`, { token: f.ownerToken }), 403, "forbidden");
    expect((await api("GET", "/v1/users/me", { token: f.ownerToken })).status).toBe(200);
  });
});

