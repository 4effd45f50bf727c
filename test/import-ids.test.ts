import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countTrips } from "./d1-counter";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });
const importUsers = (tenantId: string, body: unknown, opts: { token?: string; headers?: Record<string, string> } = {}) =>
  call("POST", "/v1/users/import", { ...(opts.token ? { token: opts.token } : asPlatform(tenantId)), body, headers: opts.headers });

/** A well-formed usr_ id no one has. */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const freshId = (n: number) => `usr_01jz${[...n.toString(32).padStart(22, "0")].map((d) => CROCKFORD[parseInt(d, 32)]).join("")}`;
let seq = Date.now() % 100000 * 1000;
const nextId = () => freshId(seq++);

describe("POST /v1/users/import: ids and managers", () => {
  it('ids "keep" keeps given ids; a manager_id naming an earlier item makes a managed user', async () => {
    const { tenant } = await createTenant();
    const [boss, kid] = [nextId(), nextId()];
    const res = await importUsers(tenant.id, {
      users: [
        { id: boss, email: "boss@x.test" },
        { id: kid, first_name: "Kid", last_name: "Doe", manager_id: boss },
      ],
    });
    expect(res.body.results).toEqual([
      { index: 0, status: "created", id: boss },
      { index: 1, status: "created", id: kid },
    ]);
    const k = await call("GET", `/v1/users/${kid}`, asPlatform(tenant.id));
    expect(k.body).toMatchObject({ is_managed: true, manager_id: boss, has_password: false });
  });

  it('ids "keep": an id another user has, in any tenant, fails the item with conflict', async () => {
    const a = await createTenant();
    const b = await createTenant();
    const id = nextId();
    expect((await importUsers(a.tenant.id, { users: [{ id, email: "x@x.test" }] })).body.created).toBe(1);
    const again = await importUsers(b.tenant.id, { users: [{ id, email: "y@x.test" }], on_conflict: "skip" });
    expect(again.body.results[0]).toMatchObject({ status: "failed", errors: [expect.objectContaining({ path: "id", code: "conflict" })] });
    const same = await importUsers(a.tenant.id, { users: [{ id, email: "z@x.test" }] });
    expect(same.body.results[0]).toMatchObject({ status: "failed", errors: [expect.objectContaining({ path: "id", code: "conflict" })] });
    const skipped = await importUsers(a.tenant.id, { users: [{ id, email: "z@x.test" }], on_conflict: "skip" });
    expect(skipped.body.results[0]).toEqual({ index: 0, status: "skipped", id });
  });

  it('ids "new": created users get new ids in input order, and manager_id references to earlier items are rewritten', async () => {
    const { tenant } = await createTenant();
    const [boss, kid, grandkid] = [nextId(), nextId(), nextId()];
    const res = await importUsers(tenant.id, {
      ids: "new",
      users: [
        { id: boss, email: "boss@x.test" },
        { id: kid, first_name: "Kid", last_name: "A", manager_id: boss },
        { id: grandkid, first_name: "Grand", last_name: "Kid", manager_id: kid },
      ],
    });
    const ids = res.body.results.map((r: { id: string }) => r.id);
    expect(res.body.created).toBe(3);
    expect(ids).not.toContain(boss);
    expect([...ids].sort()).toEqual(ids);
    const k = await call("GET", `/v1/users/${ids[1]}`, asPlatform(tenant.id));
    expect(k.body.manager_id).toBe(ids[0]);
    const g = await call("GET", `/v1/users/${ids[2]}`, asPlatform(tenant.id));
    expect(g.body.manager_id).toBe(ids[1]);
  });

  it("manager_id: an existing user of the tenant works; a later item, a failed item or another tenant's user is manager_not_found", async () => {
    const { tenant, owner } = await createTenant();
    const other = await createTenant();
    const later = nextId();
    const res = await importUsers(tenant.id, {
      users: [
        { first_name: "A", last_name: "A", manager_id: owner.id },
        { first_name: "B", last_name: "B", manager_id: later },
        { id: later, email: "later@x.test" },
        { id: nextId(), email: "broken" },
        { first_name: "C", last_name: "C", manager_id: other.owner.id },
      ],
    });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(["created", "failed", "created", "failed", "failed"]);
    for (const i of [1, 4]) expect(res.body.results[i].errors[0]).toMatchObject({ path: "manager_id", code: "manager_not_found" });
  });

  it("update never moves a user to another manager (manager_change_unsupported)", async () => {
    const { tenant, owner } = await createTenant();
    const boss = await createUser(tenant.id, { email: "boss2@x.test" });
    const id = nextId();
    await importUsers(tenant.id, { users: [{ id, first_name: "K", last_name: "K", manager_id: owner.id }] });
    const res = await importUsers(tenant.id, { on_conflict: "update", users: [{ id, manager_id: boss.id, first_name: "Moved" }] });
    expect(res.body.results[0].errors[0]).toMatchObject({ path: "manager_id", code: "manager_change_unsupported" });
    const same = await importUsers(tenant.id, { on_conflict: "update", users: [{ id, manager_id: owner.id, first_name: "Stays" }] });
    expect(same.body.results[0].status).toBe("updated");
  });
});

describe("POST /v1/users/import: permissions", () => {
  it("granting a role whose permissions the caller lacks fails that item with forbidden", async () => {
    const { tenant } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "adm@x.test", roles: ["admin"] });
    const res = await importUsers(tenant.id, { users: [{ email: "o2@x.test", roles: ["owner"] }, { email: "m2@x.test", roles: ["admin"] }] }, { token: admin.token });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(["failed", "created"]);
    expect(res.body.results[0].errors[0]).toMatchObject({ path: "roles", code: "forbidden" });
  });

  it("updating the way in of a user whose roles carry permissions the caller lacks fails with forbidden; their names are fine", async () => {
    const { tenant, owner } = await createTenant();
    const admin = await userWithToken(tenant.id, { email: "adm@x.test", roles: ["admin"] });
    const cases: [Record<string, unknown>, string][] = [
      [{ email: owner.email, username: "taken-over" }, "username"],
      [{ email: owner.email, password_hash: "$2b$12$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq" }, "password_hash"],
      [{ id: owner.id, email: "mine@x.test" }, "email"],
      [{ email: owner.email, external_id: "ext-owner" }, "external_id"],
    ];
    for (const [item, path] of cases) {
      const res = await importUsers(tenant.id, { on_conflict: "update", users: [item] }, { token: admin.token });
      expect(res.body.results[0], path).toMatchObject({ status: "failed", errors: [expect.objectContaining({ path, code: "forbidden" })] });
    }
    const names = await importUsers(tenant.id, { on_conflict: "update", users: [{ email: owner.email, first_name: "Olga" }] }, { token: admin.token });
    expect(names.body.results[0].status).toBe("updated");
    const o = await call("GET", `/v1/users/${owner.id}`, asPlatform(tenant.id));
    expect(o.body).toMatchObject({ email: owner.email, username: null, first_name: "Olga", external_id: null });
  });
});

describe("POST /v1/users/import: events, idempotency and speed", () => {
  it('every created user gets a user.created event with "imported": true', async () => {
    const { tenant } = await createTenant();
    const res = await importUsers(tenant.id, { users: [{ email: "e1@x.test" }, { email: "e2@x.test" }] });
    const events = await call("GET", "/v1/events?type=user.created&limit=100", asPlatform(tenant.id));
    const imported = events.body.items.filter((e: { data: { imported?: boolean } }) => e.data.imported === true);
    expect(imported.map((e: { data: { user_id: string } }) => e.data.user_id)).toEqual(res.body.results.map((r: { id: string }) => r.id));
  });

  it("Idempotency-Key: a retry replays the first answer without importing again; another body is 422", async () => {
    const { tenant } = await createTenant();
    const headers = { "Idempotency-Key": "import-1" };
    const body = { users: [{ email: "idem@x.test" }] };
    const first = await importUsers(tenant.id, body, { headers });
    const second = await importUsers(tenant.id, body, { headers });
    expect(second.status).toBe(200);
    expect(second.headers.get("Idempotent-Replayed")).toBe("true");
    expect(second.body).toEqual(first.body);
    await expectProblem(
      await api("POST", "/v1/users/import", { ...asPlatform(tenant.id), headers, body: { users: [{ email: "other@x.test" }] } }),
      422,
      "idempotency_key_reused",
    );
    const n = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ? AND email = 'idem@x.test'").bind(tenant.id).first<{ n: number }>();
    expect(n!.n).toBe(1);
  });

  it("1,000 users in one request take two D1 round trips (read, then one batch)", async () => {
    const { tenant, ownerToken } = await createTenant();
    await call("GET", "/v1/users/me", { token: ownerToken }); // warms the isolate's key cache
    const users = Array.from({ length: 1000 }, (_, i) => ({
      email: `bulk${i}@x.test`,
      username: `bulk${i}`,
      roles: i % 2 ? ["member"] : ["admin"],
      metadata: { i },
      password_hash: "$2b$12$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq",
    }));
    const request = new Request("http://userplane.test/v1/users/import", {
      method: "POST",
      headers: { Authorization: `Bearer ${ownerToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ users }),
    });
    const started = Date.now();
    const { res, trips, log } = await countTrips(request);
    const elapsed = Date.now() - started;
    const body = (await res.json()) as { created: number };
    expect(body.created).toBe(1000);
    // The session check rides in the read.
    expect(trips, log.join(" | ")).toBe(2);
    expect(elapsed).toBeLessThan(10_000);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM user_roles WHERE tenant_id = ? AND role = 'admin'").bind(tenant.id).first<{ n: number }>();
    expect(n!.n).toBe(500);
  });
});
