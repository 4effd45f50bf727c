import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTenant, PLATFORM_KEY, signIn, uniqueSlug } from "./helpers";
import { exportAll } from "./export-helpers";
import { FIREBASE, VECTORS, VECTOR_PASSWORD } from "./hash-vectors";

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });

async function emptyTenant() {
  const res = await call("POST", "/v1/tenants", { token: PLATFORM_KEY, body: { slug: uniqueSlug("copy"), name: "Copy" } });
  expect(res.status).toBe(201);
  return res.body as { id: string; slug: string };
}

const defineRole = (tenantId: string) =>
  call("POST", "/v1/roles", { ...asPlatform(tenantId), body: { name: "TASK-ADMIN", permissions: ["tasks:admin"] } });

interface Person {
  login: { email?: string; username?: string };
  password?: string;
  /** Signs in after the import (active, not managed, with a password). */
  signsIn: boolean;
}

/** A tenant with every kind of user an export must carry. */
async function sourceTenant() {
  const f = await createTenant();
  const t = f.tenant.id;
  expect((await defineRole(t)).status).toBe(201);
  const people: Person[] = [{ login: { email: f.owner.email }, password: f.ownerPassword, signsIn: true }];
  const create = async (body: Record<string, unknown>, person: Omit<Person, "signsIn"> & { signsIn?: boolean }) => {
    const res = await call("POST", "/v1/users", { ...asPlatform(t), body });
    expect(res.status).toBe(201);
    people.push({ signsIn: true, ...person });
    return res.body;
  };
  await create(
    { email: "ada@x.test", username: "ada", first_name: "Ada", last_name: "L", password: "ada-password", roles: ["admin", "TASK-ADMIN"], metadata: { plan: { tier: 2, tags: ["a", "b"] }, n: null }, external_id: "ext-ada" },
    { login: { email: "ada@x.test" }, password: "ada-password" },
  );
  await create({ username: "temp", password: "temporary-1", temporary_password: true }, { login: { username: "temp" }, password: "temporary-1" });
  await create({ email: "gone@x.test", password: "inactive-pw", is_active: false }, { login: { email: "gone@x.test" }, password: "inactive-pw", signsIn: false });
  await create({ external_id: "sso-only", first_name: "Sso" }, { login: {}, signsIn: false });
  const kid = await call("POST", "/v1/users/me/managed-users", { token: f.ownerToken, body: { first_name: "Kid", last_name: "Doe", metadata: { age: 7 } } });
  expect(kid.status).toBe(201);
  // Still-foreign hashes: bcrypt and Firebase, imported and not signed in with yet.
  const imported = await call("POST", "/v1/users/import", {
    ...asPlatform(t),
    body: {
      hash_config: { firebase_scrypt: FIREBASE.config },
      users: [
        { email: "bcrypt@x.test", password_hash: VECTORS.bcrypt2y, created_at: "2019-05-06T07:08:09Z", last_login_at: "2020-01-01T00:00:00+02:00" },
        { email: "fire@x.test", password_hash: FIREBASE.hash, password_salt: FIREBASE.salt },
      ],
    },
  });
  expect(imported.body.created).toBe(2);
  people.push({ login: { email: "bcrypt@x.test" }, password: VECTOR_PASSWORD, signsIn: false }, { login: { email: "fire@x.test" }, password: FIREBASE.password, signsIn: false });
  // Signing in sets last_login_at (and, for the temporary password, keeps password_change_required).
  for (const p of people.filter((p) => p.signsIn)) expect((await signIn(f.tenant.slug, p.login, p.password!)).status).toBe(200);
  return { f, people };
}

/** What must survive the trip: everything but the ids, the tenant and updated_at. */
function comparable(line: Record<string, unknown>, idOf: (id: string) => string) {
  const { id: _id, tenant_id: _t, updated_at: _u, password_hash: _h, manager_id, ...rest } = line;
  return { ...rest, manager_id: manager_id === null ? null : idOf(manager_id as string) };
}

describe("export with credentials → import into an empty tenant", () => {
  it("gives the same users, roles, metadata, managers, timestamps and flags, and every user signs in with the same password", async () => {
    const { f, people } = await sourceTenant();
    const exported = await exportAll("/v1/users/export?include_credentials=true&limit=3", asPlatform(f.tenant.id));
    expect(exported).toHaveLength(8);
    expect(exported.find((l) => l.email === "fire@x.test")!.password_hash).toMatch(/^\$firebase-scrypt\$rounds=8,mem_cost=14\$/);
    expect(exported.find((l) => l.email === "bcrypt@x.test")!.password_hash).toBe(VECTORS.bcrypt2y);

    const target = await emptyTenant();
    expect((await defineRole(target.id)).status).toBe(201);
    // The lines as they are: no hash_config, no editing.
    const res = await call("POST", "/v1/users/import", { ...asPlatform(target.id), body: { ids: "new", users: exported } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 8, failed: 0 });
    const newIdOf = new Map(exported.map((l, i) => [l.id as string, res.body.results[i].id as string]));

    const copied = await exportAll("/v1/users/export?include_credentials=true", asPlatform(target.id));
    expect(copied.map((l) => l.id)).toEqual(exported.map((l) => newIdOf.get(l.id as string)));
    expect(copied.map((l) => comparable(l, (id) => id))).toEqual(exported.map((l) => comparable(l, (id) => newIdOf.get(id)!)));
    expect(copied.every((l) => l.tenant_id === target.id)).toBe(true);
    expect(copied.find((l) => l.email === "bcrypt@x.test")).toMatchObject({ created_at: "2019-05-06T07:08:09.000Z", last_login_at: "2019-12-31T22:00:00.000Z" });

    for (const p of people.filter((p) => p.password)) {
      const source = await signIn(f.tenant.slug, p.login, p.password!);
      const copy = await signIn(target.slug, p.login, p.password!);
      expect(copy.status, JSON.stringify(p.login)).toBe(source.status);
      if (copy.status === 200) expect(copy.body.password_change_required).toBe(source.body.password_change_required);
      expect((await signIn(target.slug, p.login, `${p.password}-wrong`)).status).toBe(401);
    }
    expect((await signIn(target.slug, { username: "temp" }, "temporary-1")).body.password_change_required).toBe(true);
  });

  it('with "ids": "keep" into a tenant of the same deployment every item fails with conflict (ids are deployment-wide); into a deployment without them the ids are kept', async () => {
    const { f } = await sourceTenant();
    const exported = await exportAll("/v1/users/export?include_credentials=true", asPlatform(f.tenant.id));
    const target = await emptyTenant();
    expect((await defineRole(target.id)).status).toBe(201);
    const clash = await call("POST", "/v1/users/import", { ...asPlatform(target.id), body: { ids: "keep", users: exported } });
    expect(clash.body.failed).toBe(8);
    expect(clash.body.results.every((r: { errors: { path: string; code: string }[] }) => r.errors[0]!.path === "id" && r.errors[0]!.code === "conflict")).toBe(true);

    // "Another deployment": the same ids are free once the original rows are gone (the tenant
    // marked deleted first, as a tenant deletion does, so the last-owner trigger lets them go).
    await env.DB.prepare("UPDATE tenants SET deleted_at = ? WHERE id = ?").bind(new Date().toISOString(), f.tenant.id).run();
    await env.DB.prepare("DELETE FROM users WHERE tenant_id = ? AND manager_id IS NOT NULL").bind(f.tenant.id).run();
    await env.DB.prepare("DELETE FROM user_roles WHERE tenant_id = ?").bind(f.tenant.id).run();
    await env.DB.prepare("DELETE FROM users WHERE tenant_id = ?").bind(f.tenant.id).run();
    const kept = await call("POST", "/v1/users/import", { ...asPlatform(target.id), body: { users: exported } });
    expect(kept.body).toMatchObject({ created: 8, failed: 0 });
    expect(kept.body.results.map((r: { id: string }) => r.id)).toEqual(exported.map((l) => l.id));
    const copied = await exportAll("/v1/users/export?include_credentials=true", asPlatform(target.id));
    expect(copied.map((l) => comparable(l, (id) => id))).toEqual(exported.map((l) => comparable(l, (id) => id)));
    expect((await signIn(target.slug, { email: "ada@x.test" }, "ada-password")).status).toBe(200);
  });
});
