import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

const ALL_SCOPES = ["data:read", "data:write", "profile:read", "profile:write"];

/** Walks every cursor page of GET /v1/users and returns the items. */
async function walk(token: string, query: string) {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await call("GET", `/v1/users?${query}${cursor ? `&cursor=${cursor}` : ""}`, { token });
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  return items;
}

/** A tenant with an admin, a member with two managed users, and shares given and received. */
async function scene() {
  const f = await createTenant();
  const admin = await userWithToken(f.tenant.id, { email: "admin@x.test", roles: ["admin"] });
  const alice = await userWithToken(f.tenant.id, { email: "alice@x.test", first_name: "Alice" });
  const bob = await userWithToken(f.tenant.id, { email: "bob@x.test" });
  const carol = await userWithToken(f.tenant.id, { email: "carol@x.test" });
  const stranger = await userWithToken(f.tenant.id, { email: "zed@x.test" });
  const kid1 = (await call("POST", "/v1/users/me/managed-users", { token: alice.token, body: { first_name: "Kid", last_name: "One" } })).body;
  const kid2 = (await call("POST", "/v1/users/me/managed-users", { token: alice.token, body: { first_name: "Kid", last_name: "Two" } })).body;
  // Bob and Carol share with Alice; Alice shares with Bob.
  await call("PUT", `/v1/users/me/shares/${alice.user.id}`, { token: bob.token, body: { scopes: ["data:read"] } });
  await call("PUT", `/v1/users/me/shares/${alice.user.id}`, { token: carol.token, body: { scopes: ["profile:read", "profile:write"] } });
  await call("PUT", `/v1/users/me/shares/${bob.user.id}`, { token: alice.token, body: { scopes: ["data:write"] } });
  return { f, admin, alice, bob, carol, stranger, kid1, kid2 };
}

describe("GET /v1/users visibility", () => {
  it("shows a member themselves, their managed users and those who shared with them, with exact access and scopes, across pages", async () => {
    const s = await scene();
    const items = await walk(s.alice.token, "limit=1");
    const seen = Object.fromEntries(items.map((u) => [u.id, { access: u.access, scopes: u.scopes }]));
    expect(seen).toEqual({
      [s.alice.user.id]: { access: "self", scopes: ALL_SCOPES },
      [s.kid1.id]: { access: "managed", scopes: ALL_SCOPES },
      [s.kid2.id]: { access: "managed", scopes: ALL_SCOPES },
      [s.bob.user.id]: { access: "shared", scopes: ["data:read"] },
      [s.carol.user.id]: { access: "shared", scopes: ["profile:read", "profile:write"] },
    });
    expect(items).toHaveLength(5);
  });

  it("sorts and pages a member's visible set as the sort asks, both ways, in both modes", async () => {
    const s = await scene();
    const key = (u: { last_name: string | null; email: string | null; id: string }) => `${(u.last_name ?? "").toLowerCase()}\u0000${u.id}`;
    const ascending = await walk(s.alice.token, "limit=2&sort=last_name");
    expect(ascending).toHaveLength(5);
    expect(ascending.map(key)).toEqual([...ascending.map(key)].sort());
    const descending = await walk(s.alice.token, "limit=2&sort=-last_name");
    expect(descending.map((u) => u.id)).toEqual([...ascending].reverse().map((u) => u.id));
    const second = await call("GET", "/v1/users?page=2&page_size=2&sort=-last_name", { token: s.alice.token });
    expect(second.body.total).toBe(5);
    expect(second.body.items.map((u: { id: string }) => u.id)).toEqual(descending.slice(2, 4).map((u) => u.id));
  });

  it("honours include_managed and include_shared", async () => {
    const s = await scene();
    const noManaged = await walk(s.alice.token, "include_managed=false");
    expect(noManaged.map((u) => u.access).sort()).toEqual(["self", "shared", "shared"]);
    const noShared = await walk(s.alice.token, "include_shared=false");
    expect(noShared.map((u) => u.access).sort()).toEqual(["managed", "managed", "self"]);
    const onlySelf = await walk(s.alice.token, "include_shared=false&include_managed=false");
    expect(onlySelf.map((u) => u.id)).toEqual([s.alice.user.id]);
    await expectProblem(await api("GET", "/v1/users?include_shared=maybe", { token: s.alice.token }), 422, "validation_failed");
  });

  it("applies search, filters and sort to the member's own view (one code path)", async () => {
    const s = await scene();
    const kids = await call("GET", "/v1/users?search=kid&sort=-last_name", { token: s.alice.token });
    expect(kids.body.items.map((u: any) => u.last_name)).toEqual(["Two", "One"]);
    const managedOnly = await call("GET", "/v1/users?is_managed=true&page=1&page_size=1", { token: s.alice.token });
    expect(managedOnly.body.total).toBe(2);
    expect(managedOnly.body.items).toHaveLength(1);
    // The stranger is in the tenant but not visible to Alice, even by exact email.
    const byEmail = await call("GET", "/v1/users?email=zed@x.test", { token: s.alice.token });
    expect(byEmail.body.items).toEqual([]);
  });

  it("shows an admin every user; managed and shared users keep their labels, the rest are tenant-wide", async () => {
    const s = await scene();
    const items = await walk(s.admin.token, "limit=2");
    expect(items).toHaveLength(8); // owner, admin, alice, bob, carol, zed, 2 kids
    const byId = Object.fromEntries(items.map((u) => [u.id, u]));
    expect(byId[s.admin.user.id].access).toBe("self");
    expect(byId[s.kid1.id]).toMatchObject({ access: "tenant", scopes: [], is_managed: true, manager_id: s.alice.user.id });
  });

  it("shows a member with no relations only themselves", async () => {
    const s = await scene();
    const items = await walk(s.stranger.token, "");
    expect(items.map((u) => u.id)).toEqual([s.stranger.user.id]);
  });
});

describe("managed users", () => {
  it("are created by any signed-in user as is_managed with manager_id = caller and no roles", async () => {
    const s = await scene();
    expect(s.kid1).toMatchObject({ is_managed: true, manager_id: s.alice.user.id, roles: [], has_password: false, display_name: "Kid One" });
  });

  it("can be read, replaced, patched (names, metadata) and deleted by their manager only", async () => {
    const s = await scene();
    const url = `/v1/users/${s.kid1.id}`;
    expect((await call("GET", url, { token: s.alice.token })).status).toBe(200);
    const put = await call("PUT", url, { token: s.alice.token, body: { first_name: "New", last_name: "Name", metadata: { a: 1 } } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ first_name: "New", last_name: "Name", metadata: { a: 1 } });
    const patch = await call("PATCH", url, { token: s.alice.token, body: { metadata: { b: 2 } } });
    expect(patch.body.metadata).toEqual({ a: 1, b: 2 });
    // A manager may not change what needs users:write.
    await expectProblem(await api("PATCH", url, { token: s.alice.token, body: { email: "kid@x.test" } }), 403, "forbidden");
    await expectProblem(await api("PATCH", url, { token: s.alice.token, body: { roles: ["admin"] } }), 403, "forbidden");
    // Everyone else without users:read: 404 for every verb.
    for (const method of ["GET", "PATCH", "PUT", "DELETE"]) {
      const res = await api(method, url, { token: s.bob.token, body: method === "GET" || method === "DELETE" ? undefined : { first_name: "X" } });
      await expectProblem(res, 404, "not_found");
    }
    expect((await api("DELETE", url, { token: s.alice.token })).status).toBe(204);
    expect((await api("GET", url, { token: s.alice.token })).status).toBe(404);
  });

  it("validates the body strictly and needs a signed-in user", async () => {
    const s = await scene();
    const bad = await expectProblem(
      await api("POST", "/v1/users/me/managed-users", { token: s.alice.token, body: { first_name: "A", email: "x@y.test" } }),
      422,
      "validation_failed",
    );
    expect(bad.errors!.map((e) => e.path).sort()).toEqual(["email", "last_name"]);
    await expectProblem(
      await api("POST", "/v1/users/me/managed-users", { token: PLATFORM_KEY, tenant: s.f.tenant.id, body: { first_name: "A", last_name: "B" } }),
      403,
      "forbidden",
    );
  });
});

describe("sharing", () => {
  it("PUT creates or replaces, GET lists what I granted, DELETE revokes", async () => {
    const s = await scene();
    const mine = await call("GET", "/v1/users/me/shares", { token: s.alice.token });
    expect(mine.body.items).toEqual([expect.objectContaining({ user_id: s.bob.user.id, owner_id: s.alice.user.id, scopes: ["data:write"] })]);
    const replaced = await call("PUT", `/v1/users/me/shares/${s.bob.user.id}`, { token: s.alice.token, body: { scopes: ["profile:read"] } });
    expect(replaced.status).toBe(200);
    expect(replaced.body.scopes).toEqual(["profile:read"]);
    // A single object carries an ETag; a list does not.
    expect(replaced.headers.get("ETag")).toMatch(/^"h-[0-9a-f]{24}"$/);
    expect(mine.headers.get("ETag")).toBeNull();
    const bobSees = await call("GET", `/v1/users?search=alice`, { token: s.bob.token });
    expect(bobSees.body.items).toEqual([expect.objectContaining({ id: s.alice.user.id, access: "shared", scopes: ["profile:read"] })]);
    expect((await api("DELETE", `/v1/users/me/shares/${s.bob.user.id}`, { token: s.alice.token })).status).toBe(204);
    await expectProblem(await api("DELETE", `/v1/users/me/shares/${s.bob.user.id}`, { token: s.alice.token }), 404, "not_found");
    await expectProblem(await api("GET", `/v1/users/${s.alice.user.id}`, { token: s.bob.token }), 404, "not_found");
  });

  it("lets a grantee with profile:write edit names and metadata, and nothing more", async () => {
    const s = await scene();
    const url = `/v1/users/${s.carol.user.id}`;
    const ok = await call("PATCH", url, { token: s.alice.token, body: { first_name: "Caroline" } });
    expect(ok.status).toBe(200);
    await expectProblem(await api("PATCH", url, { token: s.alice.token, body: { email: "c2@x.test" } }), 403, "forbidden");
    // data:read alone gives sight, not edits.
    await expectProblem(await api("PATCH", `/v1/users/${s.bob.user.id}`, { token: s.alice.token, body: { first_name: "B" } }), 403, "forbidden");
  });

  it("honours If-Match on PUT and DELETE of a share: a stale or foreign tag is a 412 and changes nothing", async () => {
    const s = await scene();
    const url = `/v1/users/me/shares/${s.bob.user.id}`;
    const first = await api("PUT", url, { token: s.alice.token, body: { scopes: ["data:read"] } });
    const tag = first.headers.get("ETag")!;
    expect(tag).toMatch(/^"h-/);
    const second = await api("PUT", url, { token: s.alice.token, body: { scopes: ["profile:read"] }, headers: { "If-Match": tag } });
    expect(second.status).toBe(200);
    const current = second.headers.get("ETag")!;
    expect(current).not.toBe(tag);
    const scopesNow = async () => (await call("GET", "/v1/users/me/shares", { token: s.alice.token })).body.items.find((i: { user_id: string }) => i.user_id === s.bob.user.id)?.scopes;
    await expectProblem(await api("PUT", url, { token: s.alice.token, body: { scopes: ["data:write"] }, headers: { "If-Match": tag } }), 412, "precondition_failed");
    await expectProblem(await api("DELETE", url, { token: s.alice.token, headers: { "If-Match": tag } }), 412, "precondition_failed");
    expect(await scopesNow()).toEqual(["profile:read"]);
    // A tag for a share that does not exist cannot match: nothing is created.
    const carolUrl = `/v1/users/me/shares/${s.carol.user.id}`;
    await expectProblem(await api("PUT", carolUrl, { token: s.alice.token, body: { scopes: ["data:read"] }, headers: { "If-Match": current } }), 412, "precondition_failed");
    expect((await call("GET", "/v1/users/me/shares", { token: s.alice.token })).body.items.map((i: { user_id: string }) => i.user_id)).not.toContain(s.carol.user.id);
    expect((await api("DELETE", url, { token: s.alice.token, headers: { "If-Match": current } })).status).toBe(204);
    expect(await scopesNow()).toBeUndefined();
  });

  it("refuses bad scopes, self-shares, unknown users and users of another tenant, changing nothing", async () => {
    const s = await scene();
    const other = await createTenant();
    const cases: [string, unknown, number, string][] = [
      [s.bob.user.id, { scopes: ["admin"] }, 422, "validation_failed"],
      [s.bob.user.id, { scopes: [] }, 422, "validation_failed"],
      [s.bob.user.id, { scopes: ["data:read", "data:read"] }, 422, "validation_failed"],
      [s.bob.user.id, { scopes: ["data:read"], extra: 1 }, 422, "validation_failed"],
      [s.alice.user.id, { scopes: ["data:read"] }, 422, "validation_failed"],
      ["usr_nope", { scopes: ["data:read"] }, 404, "not_found"],
      [other.owner.id, { scopes: ["data:read"] }, 404, "not_found"],
    ];
    for (const [target, body, status, code] of cases) {
      await expectProblem(await api("PUT", `/v1/users/me/shares/${target}`, { token: s.alice.token, body }), status, code);
    }
    const mine = await call("GET", "/v1/users/me/shares", { token: s.alice.token });
    expect(mine.body.items).toHaveLength(1);
  });

  it("pages with cursors and with page numbers", async () => {
    const s = await scene();
    await call("PUT", `/v1/users/me/shares/${s.carol.user.id}`, { token: s.alice.token, body: { scopes: ["data:read"] } });
    await call("PUT", `/v1/users/me/shares/${s.stranger.user.id}`, { token: s.alice.token, body: { scopes: ["data:read"] } });
    const first = await call("GET", "/v1/users/me/shares?limit=2", { token: s.alice.token });
    expect(first.body.items).toHaveLength(2);
    const second = await call("GET", `/v1/users/me/shares?limit=2&cursor=${first.body.next_cursor}`, { token: s.alice.token });
    expect(second.body.items).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const paged = await call("GET", "/v1/users/me/shares?page=2&page_size=2", { token: s.alice.token });
    expect(paged.body).toMatchObject({ total: 3, page: 2, page_size: 2 });
  });
});
