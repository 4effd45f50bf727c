import { describe, expect, it } from "vitest";
import { countTrips } from "./d1-counter";
import { call, createTenant, PLATFORM_KEY, userWithToken } from "./helpers";

const req = (method: string, path: string, token: string, body?: unknown) =>
  new Request(`http://userplane.test${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

async function scene() {
  const f = await createTenant();
  const member = await userWithToken(f.tenant.id, { email: "m@x.test", last_name: "Zyxwvut" });
  // Warm the isolate's key cache so the counts show the request's own work (not through
  // GET /v1/users/me, whose answer the isolate keeps for a second: test/self-cache.test.ts).
  await call("GET", `/v1/users/${f.owner.id}`, { token: f.ownerToken });
  return { f, member };
}

describe("D1 round trips per request (session check included)", () => {
  it("authenticated reads take one round trip", async () => {
    const { f, member } = await scene();
    const cases: [string, string][] = [
      ["GET /v1/users/me", "/v1/users/me"],
      ["GET /v1/users/{id}", `/v1/users/${member.user.id}`],
      ["list page with total", "/v1/users?page=1&page_size=20"],
      ["list first page (cursor)", "/v1/users?limit=20"],
      ["search", "/v1/users?search=zyxw"],
    ];
    for (const [name, path] of cases) {
      for (const token of [f.ownerToken, member.token]) {
        const { res, trips, log } = await countTrips(req("GET", path, token));
        expect(res.status, name).toBe(200);
        expect(trips, `${name}: ${log.join(" | ")}`).toBe(1);
      }
    }
  });

  it("get self and create user are one statement each, their refusals included", async () => {
    const { f, member } = await scene();
    const statements = async (request: Request, status: number) => {
      const { res, trips, statements, log } = await countTrips(request);
      expect(res.status, await res.clone().text()).toBe(status);
      expect([trips, statements], log.join(" | ")).toEqual([1, 1]);
      return res;
    };
    const me = (await (await statements(req("GET", "/v1/users/me", member.token), 200)).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ id: member.user.id, roles: ["member"], access: "self" });
    const created = (await (await statements(req("POST", "/v1/users", f.ownerToken, { email: "one@x.test", roles: ["admin", "member"] }), 201)).json()) as { id: string };
    expect(created).toMatchObject({ email: "one@x.test", roles: ["admin", "member"] });
    await statements(req("POST", "/v1/users", member.token, { email: "no@x.test" }), 403);
    await statements(req("POST", "/v1/users", f.ownerToken, { email: "ONE@x.test" }), 409);
    // What the one statement wrote: the user, their grants and the event, exactly as read back.
    const read = await call("GET", `/v1/users/${created.id}`, { token: f.ownerToken });
    expect(read.body).toEqual(created);
    const events = await call("GET", "/v1/events?type=user.created", { token: f.ownerToken });
    expect(events.body.items.filter((e: { data: { user_id: string } }) => e.data.user_id === created.id)).toEqual([
      expect.objectContaining({ type: "user.created", data: { user_id: created.id, actor: { kind: "user", id: f.owner.id } } }),
    ]);
    await call("DELETE", `/v1/users/${member.user.id}/sessions`, { token: f.ownerToken });
    await statements(req("GET", "/v1/users/me", member.token), 401);
  });

  it("a revoked session still fails within that one round trip", async () => {
    const { member } = await scene();
    const { res, trips } = await countTrips(req("GET", "/v1/users/me", member.token));
    expect(res.status).toBe(200);
    expect(trips).toBe(1);
    await call("DELETE", `/v1/users/${member.user.id}`, { token: member.token });
    const after = await countTrips(req("GET", "/v1/users/me", member.token));
    expect(after.res.status).toBe(401);
    expect(after.trips).toBe(1);
  });

  it("static data costs no round trip", async () => {
    await scene();
    for (const path of ["/.well-known/jwks.json", "/openapi.json"]) {
      const { res, trips } = await countTrips(new Request(`http://userplane.test${path}`));
      expect(res.status).toBe(200);
      expect(trips).toBe(0);
    }
  });
});

describe("D1 round trips for writes (session and permission checks ride in the write batch)", () => {
  const one = async (name: string, request: Request, status: number) => {
    const { res, trips, log } = await countTrips(request);
    expect(res.status, `${name}: ${await res.clone().text()}`).toBe(status);
    expect(trips, `${name}: ${log.join(" | ")}`).toBe(1);
    return res;
  };

  it("create, merge patch (fields, roles, /me), PUT and role grants take one round trip", async () => {
    const { f, member } = await scene();
    await one("POST /v1/users", req("POST", "/v1/users", f.ownerToken, { email: "new@x.test", roles: ["member"] }), 201);
    await one("POST /v1/users with a password", req("POST", "/v1/users", f.ownerToken, { email: "pw@x.test", password: "long-enough-1" }), 201);
    await one("PATCH /v1/users/{id}", req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, { first_name: "P", metadata: { a: 1 } }), 200);
    await one("PATCH roles", req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, { roles: ["admin"] }), 200);
    await one("PATCH email", req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, { email: "moved@x.test" }), 200);
    await one("PATCH /v1/users/me", req("PATCH", "/v1/users/me", member.token, { metadata: { mine: true } }), 200);
    await one("PUT /v1/users/{id}", req("PUT", `/v1/users/${member.user.id}`, f.ownerToken, { email: "moved@x.test", first_name: "Q" }), 200);
    // Every field at once, and every check with it, still fits one batch (D1 binds at most 100 values a statement).
    const everything = {
      username: "all-of-it",
      email: "all@x.test",
      first_name: "A",
      last_name: "B",
      is_active: true,
      roles: ["member", "admin"],
      metadata: { deep: { x: 1 }, gone: null },
      external_id: "ext-all",
    };
    await one("PATCH every field, refused", req("PATCH", `/v1/users/${member.user.id}`, member.token, everything), 403);
    await one("PATCH every field", req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, everything), 200);
    const put = { username: "put-all", email: "put@x.test", first_name: "C", last_name: "D", metadata: { y: 2 } };
    await one("PUT every field", req("PUT", `/v1/users/${member.user.id}`, f.ownerToken, put), 200);
  });

  it("share, session revoke (one and all) and API-key create take one round trip", async () => {
    const { f, member } = await scene();
    await one("PUT share", req("PUT", `/v1/users/me/shares/${f.owner.id}`, member.token, { scopes: ["profile:read"] }), 200);
    const second = await call("POST", "/v1/auth/token", { body: { tenant: f.tenant.slug, email: f.owner.email, password: f.ownerPassword } });
    const sessions = await call("GET", "/v1/users/me/sessions", { token: second.body.access_token });
    const other = sessions.body.items.find((s: { current: boolean }) => s.current);
    await one("DELETE one session", req("DELETE", `/v1/users/${f.owner.id}/sessions/${other.id}`, f.ownerToken), 204);
    await one("DELETE a gone session", req("DELETE", `/v1/users/${f.owner.id}/sessions/${other.id}`, f.ownerToken), 404);
    await one("DELETE all sessions", req("DELETE", `/v1/users/${member.user.id}/sessions`, f.ownerToken), 204);
    await one("POST /v1/api-keys", req("POST", "/v1/api-keys", f.ownerToken, { name: "ci", roles: ["member"] }), 201);
    // A read of sessions: the user with the session check, then the page.
    const listed = await countTrips(req("GET", `/v1/users/${f.owner.id}/sessions`, f.ownerToken));
    expect(listed.res.status).toBe(200);
    expect(listed.trips, listed.log.join(" | ")).toBe(2);
  });

  it("role create, patch and delete take one round trip, and so does a tenant patch", async () => {
    const { f } = await scene();
    await one("POST /v1/roles", req("POST", "/v1/roles", f.ownerToken, { name: "TASK-ADMIN", permissions: ["tasks:admin"] }), 201);
    await one("PATCH /v1/roles/{name}", req("PATCH", "/v1/roles/TASK-ADMIN", f.ownerToken, { description: "Tasks" }), 200);
    await one("DELETE /v1/roles/{name}", req("DELETE", "/v1/roles/TASK-ADMIN", f.ownerToken), 204);
    await one("PATCH /v1/tenants/{id}", req("PATCH", `/v1/tenants/${f.tenant.id}`, PLATFORM_KEY, { name: "Renamed" }), 200);
  });

  it("refusals cost the same one round trip: 401, 403, 404, 409, 412", async () => {
    const { f, member } = await scene();
    const other = await createTenant();
    await one("403 member creates", req("POST", "/v1/users", member.token, { email: "no@x.test" }), 403);
    await one("404 other tenant", req("PATCH", `/v1/users/${other.owner.id}`, f.ownerToken, { first_name: "X" }), 404);
    await one("409 duplicate", req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, { email: f.owner.email }), 409);
    const stale = req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, { first_name: "Y" });
    stale.headers.set("If-Match", '"usr-00000000-1"');
    await one("412 stale", stale, 412);
    await call("DELETE", `/v1/users/${member.user.id}/sessions`, { token: member.token });
    await one("401 revoked", req("PATCH", "/v1/users/me", member.token, { first_name: "Z" }), 401);
  });
});
