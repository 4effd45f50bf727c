import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, tokenFor, userWithToken } from "./helpers";

/** Active, not deleted owners of a tenant, straight from D1. */
async function activeOwners(tenantId: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT u.id FROM user_roles ur JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
     WHERE ur.tenant_id = ? AND ur.role = 'owner' AND u.is_active = 1 AND u.deleted_at IS NULL ORDER BY u.id`,
  )
    .bind(tenantId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** A tenant with two owners, each with a token. */
async function twoOwners() {
  const fixture = await createTenant();
  const second = await userWithToken(fixture.tenant.id, { email: "second@x.test", roles: ["owner"] });
  return { ...fixture, a: { id: fixture.owner.id, token: fixture.ownerToken }, b: { id: second.user.id, token: second.token } };
}

const demote = (token: string, userId: string) => api("PATCH", `/v1/users/${userId}`, { token, body: { roles: ["member"] } });

describe("a tenant keeps at least one active owner", () => {
  it("two owners demoting each other at the same time leave exactly one owner (one 200, one 409)", async () => {
    // Each owner acts through an owner-role API key it created, so both requests are authorized
    // whatever order they arrive in: the only thing deciding the loser is the invariant itself.
    // Several rounds, each in its own tenant.
    for (let round = 0; round < 4; round++) {
      const { tenant, a, b } = await twoOwners();
      const keyOf = async (token: string) =>
        (await call("POST", "/v1/api-keys", { token, body: { name: "owner key", roles: ["owner"] } })).body.key as string;
      const [keyA, keyB] = [await keyOf(a.token), await keyOf(b.token)];
      const [ab, ba] = await Promise.all([demote(keyA, b.id), demote(keyB, a.id)]);
      expect([ab.status, ba.status].sort()).toEqual([200, 409]);
      await expectProblem(ab.status === 409 ? ab : ba, 409, "last_owner");
      expect(await activeOwners(tenant.id)).toEqual([ab.status === 200 ? a.id : b.id]);
    }
  });

  it("two owners demoting each other with their sessions: one wins, the other is refused, one owner is left", async () => {
    for (let round = 0; round < 4; round++) {
      const { tenant, a, b } = await twoOwners();
      const [ab, ba] = await Promise.all([demote(a.token, b.id), demote(b.token, a.id)]);
      expect([ab.status, ba.status].filter((s) => s === 200)).toHaveLength(1);
      // The loser is refused by the invariant (409 last_owner) when its write raced the winner's;
      // when the winner had already committed before the loser was authenticated, the loser is
      // a member by then and can no longer see the other user (404). Never both 200.
      const loser = ab.status === 200 ? ba : ab;
      expect([404, 409]).toContain(loser.status);
      expect(await activeOwners(tenant.id)).toEqual([ab.status === 200 ? a.id : b.id]);
    }
  });

  it("two owners demoting themselves at the same time: exactly one succeeds (one 200, one 409)", async () => {
    for (let round = 0; round < 4; round++) {
      const { tenant, a, b } = await twoOwners();
      const [aa, bb] = await Promise.all([demote(a.token, a.id), demote(b.token, b.id)]);
      expect([aa.status, bb.status].sort()).toEqual([200, 409]);
      await expectProblem(aa.status === 409 ? aa : bb, 409, "last_owner");
      expect(await activeOwners(tenant.id)).toEqual([aa.status === 200 ? b.id : a.id]);
    }
  });

  it("two owners deactivating each other at the same time leave exactly one active owner", async () => {
    for (let round = 0; round < 3; round++) {
      const { tenant, a, b } = await twoOwners();
      const [ab, ba] = await Promise.all([
        api("PATCH", `/v1/users/${b.id}`, { token: a.token, body: { is_active: false } }),
        api("PATCH", `/v1/users/${a.id}`, { token: b.token, body: { is_active: false } }),
      ]);
      // The loser is refused by the invariant (409), or, if the winner's write landed before the
      // loser's request was even authenticated, as a deactivated user (401). Never both 200.
      expect([ab.status, ba.status].filter((s) => s === 200)).toHaveLength(1);
      expect([409, 401]).toContain(ab.status === 200 ? ba.status : ab.status);
      expect(await activeOwners(tenant.id)).toHaveLength(1);
    }
  });

  it("demoting one of two owners is allowed; the remaining one can then not be demoted", async () => {
    const { tenant, a, b } = await twoOwners();
    const ok = await call("PATCH", `/v1/users/${b.id}`, { token: a.token, body: { roles: ["member"] } });
    expect(ok.status).toBe(200);
    expect(ok.body.roles).toEqual(["member"]);
    await expectProblem(await demote(a.token, a.id), 409, "last_owner");
    await expectProblem(
      await api("PATCH", `/v1/users/${a.id}`, { token: PLATFORM_KEY, tenant: tenant.id, body: { roles: ["admin"] } }),
      409,
      "last_owner",
    );
    expect(await activeOwners(tenant.id)).toEqual([a.id]);
  });

  it("the last owner demoting themselves is 409 and keeps every role", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const res = await api("PATCH", `/v1/users/${owner.id}`, { token: ownerToken, body: { roles: ["member"] } });
    const problem = await expectProblem(res, 409, "last_owner");
    expect(problem.detail).toMatch(/owner/);
    const me = await call("GET", "/v1/users/me", { token: ownerToken });
    expect(me.body.roles).toEqual(["owner"]);
    expect(await activeOwners(tenant.id)).toEqual([owner.id]);
  });

  it("deactivating the last active owner is 409, by the owner or the platform", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    await expectProblem(await api("PATCH", `/v1/users/${owner.id}`, { token: ownerToken, body: { is_active: false } }), 409, "last_owner");
    await expectProblem(
      await api("PATCH", `/v1/users/${owner.id}`, { token: PLATFORM_KEY, tenant: tenant.id, body: { is_active: false } }),
      409,
      "last_owner",
    );
    expect((await call("GET", "/v1/users/me", { token: ownerToken })).body.is_active).toBe(true);
  });

  it("deactivating one of two owners is allowed, and then the other is the last", async () => {
    const { tenant, a, b } = await twoOwners();
    expect((await api("PATCH", `/v1/users/${b.id}`, { token: a.token, body: { is_active: false } })).status).toBe(200);
    await expectProblem(await api("PATCH", `/v1/users/${a.id}`, { token: PLATFORM_KEY, tenant: tenant.id, body: { is_active: false } }), 409, "last_owner");
    await expectProblem(await demote(a.token, a.id), 409, "last_owner");
  });

  it("an inactive owner does not count: the only active owner cannot be demoted", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    await userWithToken(tenant.id, { email: "dormant@x.test", roles: ["owner"], is_active: false });
    await expectProblem(await demote(ownerToken, owner.id), 409, "last_owner");
    expect(await activeOwners(tenant.id)).toEqual([owner.id]);
  });

  it("deleting the last owner is 409; with a second owner it is allowed", async () => {
    const { tenant, a, b } = await twoOwners();
    expect((await api("DELETE", `/v1/users/${b.id}`, { token: a.token })).status).toBe(204);
    await expectProblem(await api("DELETE", `/v1/users/${a.id}`, { token: a.token }), 409, "last_owner");
    await expectProblem(await api("DELETE", `/v1/users/${a.id}`, { token: PLATFORM_KEY, tenant: tenant.id }), 409, "last_owner");
    expect(await activeOwners(tenant.id)).toEqual([a.id]);
  });

  it("owners of another tenant do not count, and cannot reach this tenant's owner (404)", async () => {
    const a = await createTenant();
    const b = await twoOwners();
    await expectProblem(await demote(a.ownerToken, a.owner.id), 409, "last_owner");
    await expectProblem(await demote(b.a.token, a.owner.id), 404, "not_found");
    expect(await activeOwners(a.tenant.id)).toEqual([a.owner.id]);
  });

  it("promoting a second owner and demoting the first in turn hands the tenant over", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const next = await userWithToken(tenant.id, { email: "heir@x.test" });
    expect((await api("PATCH", `/v1/users/${next.user.id}`, { token: ownerToken, body: { roles: ["owner"] } })).status).toBe(200);
    const heirToken = await tokenFor(tenant.id, next.user.id);
    expect((await api("PATCH", `/v1/users/${owner.id}`, { token: heirToken, body: { roles: ["member"] } })).status).toBe(200);
    expect(await activeOwners(tenant.id)).toEqual([next.user.id]);
  });
});
