import { describe, expect, it } from "vitest";
import { countTrips } from "./d1-counter";
import { call, createTenant, userWithToken } from "./helpers";

const req = (method: string, path: string, token: string, body?: unknown) =>
  new Request(`http://userplane.test${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

async function scene() {
  const f = await createTenant();
  const member = await userWithToken(f.tenant.id, { email: "m@x.test", last_name: "Zyxwvut" });
  // Warm the isolate's key cache so the counts show the request's own work.
  await call("GET", "/v1/users/me", { token: f.ownerToken });
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

describe("D1 round trips for writes", () => {
  it("create and merge patch: the session check and the reads they need in one trip, the change in one batch", async () => {
    const { f, member } = await scene();
    const created = await countTrips(req("POST", "/v1/users", f.ownerToken, { email: "new@x.test", roles: ["member"] }));
    expect(created.res.status).toBe(201);
    expect(created.trips, created.log.join(" | ")).toBe(2);
    const patched = await countTrips(req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, { first_name: "P", metadata: { a: 1 } }));
    expect(patched.res.status).toBe(200);
    expect(patched.trips, patched.log.join(" | ")).toBe(2);
    const roles = await countTrips(req("PATCH", `/v1/users/${member.user.id}`, f.ownerToken, { roles: ["admin"] }));
    expect(roles.res.status).toBe(200);
    expect(roles.trips, roles.log.join(" | ")).toBe(2);
  });

  it("share and session revoke: the change in one statement or batch after the session check", async () => {
    const { f, member } = await scene();
    const shared = await countTrips(req("PUT", `/v1/users/me/shares/${f.owner.id}`, member.token, { scopes: ["profile:read"] }));
    expect(shared.res.status).toBe(200);
    expect(shared.trips, shared.log.join(" | ")).toBe(2);
    // The user whose sessions they are is read with the session check; the revocation is one batch.
    const second = await call("POST", "/v1/auth/token", { body: { tenant: f.tenant.slug, email: f.owner.email, password: f.ownerPassword } });
    const sessions = await call("GET", "/v1/users/me/sessions", { token: second.body.access_token });
    const other = sessions.body.items.find((s: { current: boolean }) => s.current);
    const one = await countTrips(req("DELETE", `/v1/users/${f.owner.id}/sessions/${other.id}`, f.ownerToken));
    expect(one.res.status).toBe(204);
    expect(one.trips, one.log.join(" | ")).toBe(2);
    const gone = await countTrips(req("DELETE", `/v1/users/${f.owner.id}/sessions/${other.id}`, f.ownerToken));
    expect(gone.res.status).toBe(404);
    const all = await countTrips(req("DELETE", `/v1/users/${member.user.id}/sessions`, f.ownerToken));
    expect(all.res.status).toBe(204);
    expect(all.trips, all.log.join(" | ")).toBe(2);
    const listed = await countTrips(req("GET", `/v1/users/${f.owner.id}/sessions`, f.ownerToken));
    expect(listed.res.status).toBe(200);
    expect(listed.trips, listed.log.join(" | ")).toBe(2);
  });
});
