import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });

const countUsers = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

const USER_KEYS = [
  "access",
  "created_at",
  "display_name",
  "email",
  "external_id",
  "first_name",
  "has_password",
  "id",
  "is_active",
  "is_managed",
  "last_login_at",
  "last_name",
  "manager_id",
  "metadata",
  "password_change_required",
  "roles",
  "scopes",
  "tenant_id",
  "updated_at",
  "username",
];

describe("POST /v1/users", () => {
  it("creates a user: 201 with the User shape, an ETag, the member role by default and no secrets", async () => {
    const { tenant, ownerToken } = await createTenant();
    const res = await call("POST", "/v1/users", {
      token: ownerToken,
      body: { email: "Ann@Example.test", username: "ann", first_name: "Ann", last_name: "Lee", password: "correct horse", metadata: { plan: { tier: 1 } } },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("ETag")).toMatch(/^"[^"]+"$/);
    expect(Object.keys(res.body).sort()).toEqual(USER_KEYS);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^usr_[0-9a-z]{26}$/),
      tenant_id: tenant.id,
      email: "Ann@Example.test",
      username: "ann",
      display_name: "Ann Lee",
      is_active: true,
      is_managed: false,
      manager_id: null,
      roles: ["member"],
      metadata: { plan: { tier: 1 } },
      external_id: null,
      has_password: true,
      password_change_required: false,
      last_login_at: null,
    });
    expect(JSON.stringify(res.body)).not.toMatch(/scrypt|correct horse|password_hash/);
    const read = await call("GET", `/v1/users/${res.body.id}`, { token: ownerToken });
    expect(read.headers.get("ETag")).toBe(res.headers.get("ETag"));
  });

  it("display_name falls back to username, then email, then id", async () => {
    const { tenant } = await createTenant();
    expect((await createUser(tenant.id, { username: "only-user", email: "e1@x.test", first_name: "First" })).display_name).toBe("First");
    expect((await createUser(tenant.id, { username: "uname", email: "e2@x.test" })).display_name).toBe("uname");
    expect((await createUser(tenant.id, { email: "e3@x.test" })).display_name).toBe("e3@x.test");
    const ext = await createUser(tenant.id, { external_id: "idp|123" });
    expect(ext.display_name).toBe(ext.id);
  });

  it("takes roles, is_active, temporary_password and external_id", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, {
      email: "r@x.test",
      roles: ["admin", "member"],
      is_active: false,
      password: "temp-password",
      temporary_password: true,
      external_id: "ext-1",
    });
    expect(u).toMatchObject({ roles: ["admin", "member"], is_active: false, password_change_required: true, external_id: "ext-1", has_password: true });
    const none = await createUser(tenant.id, { email: "none@x.test", roles: [] });
    expect(none.roles).toEqual([]);
    expect(none.has_password).toBe(false);
  });

  it("needs one of email, username or external_id", async () => {
    const { tenant } = await createTenant();
    const res = await api("POST", "/v1/users", { ...asPlatform(tenant.id), body: { first_name: "Nobody" } });
    const problem = await expectProblem(res, 422, "validation_failed");
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(["email", "external_id", "username"]);
    await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body: {} }), 422, "validation_failed");
    // Named with every other bad field of the body, in the one 422.
    const cases: [Record<string, unknown>, string[]][] = [
      [{ temporary_password: true }, ["email", "external_id", "temporary_password", "username"]],
      [{ first_name: 5, extra: 1 }, ["email", "external_id", "extra", "first_name", "username"]],
      [{ email: "not-an-email", temporary_password: true }, ["email", "temporary_password"]],
      [{ email: "t@x.test", temporary_password: "yes" }, ["temporary_password"]],
    ];
    for (const [body, paths] of cases) {
      const all = await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body }), 422, "validation_failed");
      expect(all.errors!.map((e) => e.path).sort(), JSON.stringify(body)).toEqual(paths);
    }
    expect(await countUsers(tenant.id)).toBe(1);
  });

  it("validates passwords (8–256), temporary_password without a password, unknown roles and bad usernames", async () => {
    const { tenant } = await createTenant();
    const bad = async (body: Record<string, unknown>, path: string) => {
      const problem = await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body }), 422, "validation_failed");
      expect(problem.errors!.map((e) => e.path)).toContain(path);
    };
    await bad({ email: "p@x.test", password: "short" }, "password");
    await bad({ email: "p@x.test", password: "x".repeat(257) }, "password");
    await bad({ email: "p@x.test", temporary_password: true }, "temporary_password");
    await bad({ email: "p@x.test", roles: ["no-such-role"] }, "roles");
    await bad({ email: "p@x.test", roles: ["bad role!"] }, "roles.0");
    await bad({ username: "has space" }, "username");
    await bad({ email: "p@x.test", metadata: "text" }, "metadata");
    await bad({ email: "p@x.test", metadata: { big: "x".repeat(16 * 1024) } }, "metadata");
    expect((await createUser(tenant.id, { email: "p8@x.test", password: "12345678" })).has_password).toBe(true);
    expect((await createUser(tenant.id, { email: "p256@x.test", password: "y".repeat(256) })).has_password).toBe(true);
    // Characters are code points: four emoji are four characters (eight UTF-16 units), 256 of them are 256.
    await bad({ email: "p@x.test", password: "😀".repeat(4) }, "password");
    await bad({ email: "p@x.test", password: "😀".repeat(257) }, "password");
    expect((await createUser(tenant.id, { email: "emoji@x.test", password: "😀".repeat(256) })).has_password).toBe(true);
    expect(await countUsers(tenant.id)).toBe(4);
  });

  it("a duplicate email, username or external_id is a 409, case-insensitively", async () => {
    const { tenant } = await createTenant();
    await createUser(tenant.id, { email: "dup@x.test", username: "Dupe", external_id: "ext-dup" });
    for (const [body, path] of [
      [{ email: "DUP@X.TEST" }, "email"],
      [{ username: "dUPE" }, "username"],
      [{ external_id: "EXT-Dup" }, "external_id"],
    ] as const) {
      const problem = await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body }), 409, "conflict");
      expect(problem.errors?.[0]?.path).toBe(path);
    }
    expect(await countUsers(tenant.id)).toBe(2);
    // A PATCH meets the same rule; changing only the case of one's own id is no conflict.
    const other = await createUser(tenant.id, { email: "other@x.test" });
    const taken = await api("PATCH", `/v1/users/${other.id}`, { ...asPlatform(tenant.id), body: { external_id: "EXT-DUP" } });
    expect((await expectProblem(taken, 409, "conflict")).errors?.[0]?.path).toBe("external_id");
    const own = await createUser(tenant.id, { external_id: "mine" });
    expect((await call("PATCH", `/v1/users/${own.id}`, { ...asPlatform(tenant.id), body: { external_id: "MINE" } })).body.external_id).toBe("MINE");
    // SQLite folds only A–Z, so cased letters beyond it are refused, as in usernames.
    const problem = await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body: { external_id: "Éric" } }), 422, "validation_failed");
    expect(problem.errors?.[0]?.path).toBe("external_id");
  });

  it("usernames with cased letters outside A–Z are refused (uniqueness could not ignore their case)", async () => {
    const { tenant } = await createTenant();
    for (const username of ["Zoë", "ZOË", "straße", "Ωmega", "café"]) {
      const problem = await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body: { username } }), 422, "validation_failed");
      expect(problem.errors![0]!.path).toBe("username");
    }
    // Caseless scripts fold to themselves, so they are fine, and unique.
    expect((await createUser(tenant.id, { username: "李小龍" })).username).toBe("李小龍");
    await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body: { username: "李小龍" } }), 409, "conflict");
    const u = await createUser(tenant.id, { email: "u@x.test" });
    await expectProblem(await api("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { username: "Zoë" } }), 422, "validation_failed");
  });

  it("the same email in another tenant is another, unrelated user", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const inA = await createUser(a.tenant.id, { email: "same@x.test" });
    const inB = await createUser(b.tenant.id, { email: "same@x.test" });
    expect(inB.id).not.toBe(inA.id);
    expect(inB.tenant_id).toBe(b.tenant.id);
  });

  it("50 concurrent creates with the same email (differing only in case) give one 201 and 49 409s", async () => {
    const { tenant } = await createTenant();
    const variants = Array.from({ length: 50 }, (_, i) => {
      const base = "race.condition@example.test";
      return [...base].map((ch, j) => ((i >> j % 6) & 1 ? ch.toUpperCase() : ch)).join("") + "";
    });
    const results = await Promise.all(
      variants.map((email) => api("POST", "/v1/users", { ...asPlatform(tenant.id), body: { email } }).then(async (r) => ({ status: r.status, body: await r.json<{ code?: string }>() }))),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === "conflict")).toBe(true);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ? AND lower(email) = ?")
      .bind(tenant.id, "race.condition@example.test")
      .first<{ n: number }>();
    expect(rows!.n).toBe(1);
  });

  it("needs users:write: a member gets 403; an admin may create but not grant owner", async () => {
    const { tenant } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    await expectProblem(await api("POST", "/v1/users", { token: member.token, body: { email: "new@x.test" } }), 403, "forbidden");
    const admin = await userWithToken(tenant.id, { email: "a@x.test", roles: ["admin"] });
    expect((await call("POST", "/v1/users", { token: admin.token, body: { email: "new@x.test" } })).status).toBe(201);
    await expectProblem(await api("POST", "/v1/users", { token: admin.token, body: { email: "own@x.test", roles: ["owner"] } }), 403, "forbidden");
    expect(await countUsers(tenant.id)).toBe(4);
  });
});

describe("GET /v1/users/me and /v1/users/{id}", () => {
  it("me is the caller, as self", async () => {
    const { tenant } = await createTenant();
    const { user, token } = await userWithToken(tenant.id, { email: "me@x.test" });
    const res = await call("GET", "/v1/users/me", { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, access: "self" });
    expect(res.headers.get("ETag")).toBeTruthy();
  });

  it("an API-key or platform caller has no me", async () => {
    const { tenant } = await createTenant();
    await expectProblem(await api("GET", "/v1/users/me", asPlatform(tenant.id)), 403, "forbidden");
  });

  it("a visible user is 200; an invisible one, an unknown one and another tenant's are 404", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const member = await userWithToken(a.tenant.id, { email: "m@x.test" });
    const other = await createUser(a.tenant.id, { email: "o@x.test" });
    expect((await call("GET", `/v1/users/${other.id}`, { token: a.ownerToken })).status).toBe(200);
    expect((await call("GET", `/v1/users/${member.user.id}`, { token: member.token })).status).toBe(200);
    await expectProblem(await api("GET", `/v1/users/${other.id}`, { token: member.token }), 404, "not_found");
    await expectProblem(await api("GET", "/v1/users/usr_00000000000000000000000000", { token: a.ownerToken }), 404, "not_found");
    await expectProblem(await api("GET", `/v1/users/${other.id}`, { token: b.ownerToken }), 404, "not_found");
  });
});

describe("PATCH /v1/users/{id} (merge patch)", () => {
  it("changes only the fields present; null clears a field", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "p@x.test", username: "puser", first_name: "Pat", last_name: "Doe", metadata: { a: 1 } });
    const res = await call("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { first_name: "Patricia", last_name: null } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      email: "p@x.test",
      username: "puser",
      first_name: "Patricia",
      last_name: null,
      display_name: "Patricia",
      metadata: { a: 1 },
      roles: ["member"],
      is_active: true,
    });
    expect(res.body.updated_at >= u.updated_at).toBe(true);
    const empty = await call("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: {} });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ first_name: "Patricia", last_name: null, email: "p@x.test" });
  });

  it("a patch that changes nothing writes nothing: same ETag, same updated_at, no event; events name only changed fields", async () => {
    const { tenant } = await createTenant();
    const opts = asPlatform(tenant.id);
    const user = await createUser(tenant.id, { email: "same@x.test", first_name: "Ann", is_active: true, metadata: { a: { b: 1 } }, roles: ["member"] });
    const before = await api("GET", `/v1/users/${user.id}`, opts);
    const etag = before.headers.get("ETag");
    const updates = async () =>
      (await env.DB.prepare("SELECT data FROM events WHERE tenant_id = ? AND type = 'user.updated' ORDER BY seq").bind(tenant.id).all<{ data: string }>()).results.map(
        (r) => JSON.parse(r.data).fields as string[],
      );
    for (const body of [{}, { first_name: "Ann", is_active: true }, { metadata: { a: { b: 1 } } }, { roles: ["member"] }, { email: "same@x.test" }]) {
      const res = await api("PATCH", `/v1/users/${user.id}`, { ...opts, body, headers: { "If-Match": etag! } });
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.headers.get("ETag"), JSON.stringify(body)).toBe(etag);
      expect(((await res.json()) as { updated_at: string }).updated_at).toBe(user.updated_at);
    }
    expect(await updates()).toEqual([]);
    const put = await api("PUT", `/v1/users/${user.id}`, { ...opts, body: { email: "same@x.test", first_name: "Ann", metadata: { a: { b: 1 } } }, headers: { "If-Match": etag! } });
    expect(put.headers.get("ETag")).toBe(etag);
    expect((await api("PATCH", `/v1/users/${user.id}`, { ...opts, body: { first_name: "Ann", last_name: "Lee" } })).status).toBe(200);
    expect(await updates()).toEqual([["last_name"]]);
  });

  it("merges metadata deeply and null removes a key", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "m@x.test", metadata: { keep: true, prefs: { theme: "dark", lang: "en" }, drop: 1, list: [1, 2] } });
    const res = await call("PATCH", `/v1/users/${u.id}`, {
      ...asPlatform(tenant.id),
      body: { metadata: { prefs: { lang: null, tz: "UTC" }, drop: null, list: [3], added: { deep: { x: 1 } } } },
    });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ keep: true, prefs: { theme: "dark", tz: "UTC" }, list: [3], added: { deep: { x: 1 } } });
    const cleared = await call("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { metadata: null } });
    expect(cleared.body.metadata).toEqual({});
  });

  it("accepts application/merge-patch+json", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "mp@x.test" });
    const res = await call("PATCH", `/v1/users/${u.id}`, {
      ...asPlatform(tenant.id),
      body: { first_name: "Merged" },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(res.status).toBe(200);
    expect(res.body.first_name).toBe("Merged");
  });

  it("metadata that would grow past 16 KiB is a 422 that changes nothing", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "big@x.test", metadata: { a: "x".repeat(10_000) } });
    const res = await api("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { metadata: { b: "y".repeat(8_000) } } });
    const problem = await expectProblem(res, 422, "validation_failed");
    expect(problem.errors![0]!.path).toBe("metadata");
    const after = await call("GET", `/v1/users/${u.id}`, asPlatform(tenant.id));
    expect(Object.keys(after.body.metadata)).toEqual(["a"]);
  });

  it("email and username stay unique case-insensitively: 409 on PATCH, nothing changed", async () => {
    const { tenant } = await createTenant();
    await createUser(tenant.id, { email: "taken@x.test", username: "Taken" });
    const u = await createUser(tenant.id, { email: "free@x.test", username: "free" });
    for (const [body, path] of [
      [{ email: "TAKEN@x.test" }, "email"],
      [{ username: "tAKEN" }, "username"],
    ] as const) {
      const problem = await expectProblem(await api("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { ...body, first_name: "Changed" } }), 409, "conflict");
      expect(problem.errors?.[0]?.path).toBe(path);
    }
    const after = await call("GET", `/v1/users/${u.id}`, asPlatform(tenant.id));
    expect(after.body).toMatchObject({ email: "free@x.test", username: "free", first_name: null });
    // Changing only the case of one's own email is fine.
    expect((await call("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { email: "FREE@x.test" } })).body.email).toBe("FREE@x.test");
  });

  it("two concurrent patches to the same email: one 200, one 409", async () => {
    const { tenant } = await createTenant();
    const a = await createUser(tenant.id, { email: "a@x.test" });
    const b = await createUser(tenant.id, { email: "b@x.test" });
    const results = await Promise.all(
      [a, b].map((u) => api("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { email: "wanted@x.test" } }).then((r) => r.status)),
    );
    expect(results.sort()).toEqual([200, 409]);
  });

  it("a user keeps one identifier: clearing the last one is a 422", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "only@x.test" });
    await expectProblem(await api("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { email: null } }), 422, "validation_failed");
    const swapped = await call("PATCH", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { email: null, username: "now-username" } });
    expect(swapped.status).toBe(200);
    expect(swapped.body).toMatchObject({ email: null, username: "now-username" });
  });

  it("changes roles and is_active with users:write; a member may edit own names but not own email or roles", async () => {
    const { tenant, ownerToken } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "mem@x.test" });
    const promoted = await call("PATCH", `/v1/users/${member.user.id}`, { token: ownerToken, body: { roles: ["admin"], is_active: true } });
    expect(promoted.body.roles).toEqual(["admin"]);
    await call("PATCH", `/v1/users/${member.user.id}`, { token: ownerToken, body: { roles: ["member"] } });

    const own = await call("PATCH", `/v1/users/${member.user.id}`, { token: member.token, body: { first_name: "Self", metadata: { x: 1 } } });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ first_name: "Self", metadata: { x: 1 } });
    await expectProblem(await api("PATCH", `/v1/users/${member.user.id}`, { token: member.token, body: { email: "new@x.test" } }), 403, "forbidden");
    await expectProblem(await api("PATCH", `/v1/users/${member.user.id}`, { token: member.token, body: { roles: ["owner"] } }), 403, "forbidden");
    await expectProblem(await api("PATCH", `/v1/users/${member.user.id}`, { token: member.token, body: { is_active: false } }), 403, "forbidden");
    const after = await call("GET", "/v1/users/me", { token: member.token });
    expect(after.body).toMatchObject({ email: "mem@x.test", roles: ["member"], is_active: true });
  });

  it("another tenant's user is a 404 whatever the caller names", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const victim = await createUser(b.tenant.id, { email: "v@x.test" });
    await expectProblem(await api("PATCH", `/v1/users/${victim.id}`, { token: a.ownerToken, body: { first_name: "Hacked" } }), 404, "not_found");
    await expectProblem(await api("PATCH", `/v1/users/${victim.id}`, { token: a.ownerToken, tenant: b.tenant.id, body: { first_name: "Hacked" } }), 404, "not_found");
    expect((await call("GET", `/v1/users/${victim.id}`, asPlatform(b.tenant.id))).body.first_name).toBeNull();
  });

  it("deactivating the last owner is a 409", async () => {
    const { tenant, owner } = await createTenant();
    await expectProblem(await api("PATCH", `/v1/users/${owner.id}`, { ...asPlatform(tenant.id), body: { is_active: false } }), 409, "last_owner");
    await expectProblem(await api("PATCH", `/v1/users/${owner.id}`, { ...asPlatform(tenant.id), body: { roles: ["admin"] } }), 409, "last_owner");
    expect((await call("GET", `/v1/users/${owner.id}`, asPlatform(tenant.id))).body).toMatchObject({ is_active: true, roles: ["owner"] });
  });
});

describe("PATCH /v1/users/me", () => {
  it("edits own names, username and metadata; other fields are unknown here", async () => {
    const { tenant } = await createTenant();
    const { token } = await userWithToken(tenant.id, { email: "self@x.test" });
    const res = await call("PATCH", "/v1/users/me", { token, body: { first_name: "Me", username: "itsme", metadata: { a: { b: 1 } } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ first_name: "Me", username: "itsme", metadata: { a: { b: 1 } } });
    const problem = await expectProblem(await api("PATCH", "/v1/users/me", { token, body: { email: "x@x.test", roles: ["owner"] } }), 422, "validation_failed");
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(["email", "roles"]);
  });
});

describe("PUT /v1/users/{id}", () => {
  it("replaces the profile: absent fields become null, metadata {}", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "put@x.test", username: "putter", first_name: "P", last_name: "Q", metadata: { a: 1 }, roles: ["admin"] });
    const res = await call("PUT", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { email: "put2@x.test", first_name: "New" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ email: "put2@x.test", username: null, first_name: "New", last_name: null, metadata: {}, roles: ["admin"], is_active: true });
    const withMeta = await call("PUT", `/v1/users/${u.id}`, { ...asPlatform(tenant.id), body: { email: "put2@x.test", metadata: { b: { c: 2 } } } });
    expect(withMeta.body.metadata).toEqual({ b: { c: 2 } });
  });

  it("metadata over 16 KiB, unknown fields and a missing identifier are 422; duplicates 409", async () => {
    const { tenant } = await createTenant();
    await createUser(tenant.id, { email: "other@x.test" });
    const u = await createUser(tenant.id, { email: "put@x.test", first_name: "Keep" });
    const opts = asPlatform(tenant.id);
    await expectProblem(await api("PUT", `/v1/users/${u.id}`, { ...opts, body: { email: "put@x.test", metadata: { a: "x".repeat(16 * 1024) } } }), 422, "validation_failed");
    await expectProblem(await api("PUT", `/v1/users/${u.id}`, { ...opts, body: { email: "put@x.test", roles: [] } }), 422, "validation_failed");
    await expectProblem(await api("PUT", `/v1/users/${u.id}`, { ...opts, body: { first_name: "No id" } }), 422, "validation_failed");
    await expectProblem(await api("PUT", `/v1/users/${u.id}`, { ...opts, body: { email: "OTHER@x.test" } }), 409, "conflict");
    expect((await call("GET", `/v1/users/${u.id}`, opts)).body).toMatchObject({ email: "put@x.test", first_name: "Keep" });
  });

  it("a member may PUT their own names but not an email change", async () => {
    const { tenant } = await createTenant();
    const { user, token } = await userWithToken(tenant.id, { email: "self@x.test" });
    const ok = await call("PUT", `/v1/users/${user.id}`, { token, body: { email: "self@x.test", first_name: "Mine" } });
    expect(ok.status).toBe(200);
    await expectProblem(await api("PUT", `/v1/users/${user.id}`, { token, body: { email: "elsewhere@x.test" } }), 403, "forbidden");
  });

  it("another tenant's user is a 404", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const victim = await createUser(b.tenant.id, { email: "v@x.test", first_name: "V" });
    await expectProblem(await api("PUT", `/v1/users/${victim.id}`, { token: a.ownerToken, body: { email: "v@x.test" } }), 404, "not_found");
    expect((await call("GET", `/v1/users/${victim.id}`, asPlatform(b.tenant.id))).body.first_name).toBe("V");
  });
});
