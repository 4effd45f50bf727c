import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, uniqueSlug } from "./helpers";

const countUsers = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

describe("problem+json", () => {
  it("errors are RFC 9457 problems with type, title, status, detail and a stable code", async () => {
    const res = await api("GET", "/v1/users");
    const body = await expectProblem(res, 401, "unauthorized");
    expect(body).toMatchObject({
      type: expect.stringMatching(/^https:\/\//),
      title: expect.any(String),
      status: 401,
      detail: expect.any(String),
      code: "unauthorized",
    });
    expect(Object.keys(body).sort()).toEqual(["code", "detail", "status", "title", "type"]);
  });

  it("validation problems name every bad field with path, message and code", async () => {
    const { tenant } = await createTenant();
    const res = await api("POST", "/v1/users", {
      token: PLATFORM_KEY,
      tenant: tenant.id,
      body: { email: "not-an-email", username: 42, is_active: "yes", nickname: "x" },
    });
    const body = await expectProblem(res, 422, "validation_failed");
    const paths = body.errors!.map((e) => e.path).sort();
    expect(paths).toEqual(["email", "is_active", "nickname", "username"]);
    for (const e of body.errors!) expect(e).toEqual({ path: expect.any(String), message: expect.any(String), code: expect.any(String) });
    expect(body.errors!.find((e) => e.path === "nickname")!.code).toBe("unrecognized_key");
    expect(await countUsers(tenant.id)).toBe(1);
  });

  it("query and path problems are 422 too, with their parameter named", async () => {
    const { tenant } = await createTenant();
    const res = await api("GET", "/v1/users?limit=abc&is_active=maybe", { token: PLATFORM_KEY, tenant: tenant.id });
    const body = await expectProblem(res, 422, "validation_failed");
    expect(body.errors!.map((e) => e.path).sort()).toEqual(["is_active", "limit"]);
    const long = await api("GET", `/v1/users/${"x".repeat(65)}`, { token: PLATFORM_KEY, tenant: tenant.id });
    expect((await expectProblem(long, 422, "validation_failed")).errors![0]!.path).toBe("id");
  });
});

describe("X-Request-Id", () => {
  it("echoes a sane caller id on success and on errors", async () => {
    const ok = await api("GET", "/healthz", { headers: { "X-Request-Id": "client-123.abc" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("X-Request-Id")).toBe("client-123.abc");
    const denied = await api("GET", "/v1/users", { headers: { "X-Request-Id": "client-456" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("X-Request-Id")).toBe("client-456");
    const missing = await api("GET", "/nowhere", { headers: { "X-Request-Id": "client-789" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("X-Request-Id")).toBe("client-789");
  });

  it("generates a new id when none or an unsafe one was sent", async () => {
    const none = await api("GET", "/healthz");
    const generated = none.headers.get("X-Request-Id");
    expect(generated).toMatch(/^req_/);
    const again = await api("GET", "/healthz");
    expect(again.headers.get("X-Request-Id")).not.toBe(generated);

    for (const bad of ["x".repeat(129), "has space", "quote\"d", "<script>"]) {
      const res = await api("GET", "/healthz", { headers: { "X-Request-Id": bad } });
      expect(res.headers.get("X-Request-Id")).toMatch(/^req_/);
    }
  });

  it("is on 413, 415 and 400 answers of the body guard", async () => {
    const res = await api("POST", "/v1/tenants", { token: PLATFORM_KEY, body: "{oops", headers: { "X-Request-Id": "guarded" } });
    expect(res.status).toBe(400);
    expect(res.headers.get("X-Request-Id")).toBe("guarded");
  });
});

describe("routing", () => {
  it("an unknown route is a 404 problem, with or without credentials", async () => {
    await expectProblem(await api("GET", "/v1/nothing-here"), 404, "not_found");
    await expectProblem(await api("GET", "/v1/nothing-here", { token: PLATFORM_KEY }), 404, "not_found");
    await expectProblem(await api("GET", "/no/such/path"), 404, "not_found");
  });

  it("a wrong method is a 405 with Allow listing the methods the path has", async () => {
    const res = await api("DELETE", "/v1/users", { token: PLATFORM_KEY });
    await expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("Allow")).toBe("GET, POST");

    const one = await api("POST", "/v1/users/usr_whatever", { token: PLATFORM_KEY });
    await expectProblem(one, 405, "method_not_allowed");
    const allowed = one.headers.get("Allow")!.split(", ");
    expect(allowed).toEqual(expect.arrayContaining(["GET", "PATCH", "PUT", "DELETE"]));
    expect(allowed).not.toContain("POST");

    const health = await api("POST", "/healthz");
    await expectProblem(health, 405, "method_not_allowed");
    expect(health.headers.get("Allow")).toBe("GET");
  });

  it("a trailing slash names the same route (never a 405 that allows the method used)", async () => {
    const { tenant, ownerToken, owner } = await createTenant();
    const list = await call("GET", "/v1/users/", { token: ownerToken });
    expect(list.status).toBe(200);
    expect(list.body.items.map((u: { id: string }) => u.id)).toEqual([owner.id]);
    expect((await call("GET", "/v1/users/me/", { token: ownerToken })).body.id).toBe(owner.id);
    expect((await call("GET", `/v1/tenants/${tenant.id}/`, { token: PLATFORM_KEY })).status).toBe(200);
    await expectProblem(await api("GET", "/v1/users/"), 401, "unauthorized");
    const wrong = await api("DELETE", "/v1/users/", { token: ownerToken });
    await expectProblem(wrong, 405, "method_not_allowed");
    expect(wrong.headers.get("Allow")).toBe("GET, POST");
  });

  it("405 does not need credentials and changes nothing", async () => {
    const res = await api("PUT", "/v1/tenants", { body: { slug: "x", name: "x" } });
    await expectProblem(res, 405, "method_not_allowed");
  });
});

describe("body guard", () => {
  it("a body over 64 KiB is a 413 and creates nothing", async () => {
    const { tenant } = await createTenant();
    const body = JSON.stringify({ email: "big@example.test", metadata: { blob: "x".repeat(64 * 1024) } });
    const res = await api("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id, body });
    await expectProblem(res, 413, "payload_too_large");
    expect(await countUsers(tenant.id)).toBe(1);
  });

  it("a body of exactly 64 KiB passes the guard (and meets the 16 KiB metadata rule instead)", async () => {
    const { tenant } = await createTenant();
    const prefix = JSON.stringify({ email: "edge@example.test", metadata: { blob: "" } });
    const body = prefix.replace('""', `"${"x".repeat(64 * 1024 - prefix.length)}"`);
    expect(new TextEncoder().encode(body).byteLength).toBe(64 * 1024);
    const res = await api("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id, body });
    const problem = await expectProblem(res, 422, "validation_failed");
    expect(problem.errors!.map((e) => e.path)).toEqual(["metadata"]);
  });

  it("a multi-byte body is measured in bytes, not characters", async () => {
    const { tenant } = await createTenant();
    // 22,000 three-byte characters: under 64 Ki characters, over 64 KiB.
    const body = JSON.stringify({ email: "utf@example.test", first_name: "€".repeat(22_000) });
    const res = await api("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id, body });
    await expectProblem(res, 413, "payload_too_large");
  });

  it("a non-JSON content type is a 415", async () => {
    const { tenant } = await createTenant();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/jsonp"]) {
      const res = await api("POST", "/v1/users", {
        token: PLATFORM_KEY,
        tenant: tenant.id,
        body: JSON.stringify({ email: "ct@example.test" }),
        headers: { "Content-Type": type },
      });
      await expectProblem(res, 415, "unsupported_media_type");
    }
    expect(await countUsers(tenant.id)).toBe(1);
  });

  it("application/json with a charset parameter is accepted", async () => {
    const { tenant } = await createTenant();
    const res = await api("POST", "/v1/users", {
      token: PLATFORM_KEY,
      tenant: tenant.id,
      body: { email: "charset@example.test" },
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    expect(res.status).toBe(201);
  });

  it("malformed JSON is a 400 malformed_json", async () => {
    const { tenant } = await createTenant();
    for (const body of ["{", "{\"email\": }", "nul", "{'a': 1}", "[1,]"]) {
      const res = await api("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id, body });
      await expectProblem(res, 400, "malformed_json");
    }
    expect(await countUsers(tenant.id)).toBe(1);
  });

  it("an empty body with a JSON content type reads as {} (as without one): optional bodies work, required fields are named", async () => {
    const { tenant, ownerToken } = await createTenant();
    for (const [i, type] of ["application/json", "application/merge-patch+json", "application/json; charset=utf-8"].entries()) {
      const user = await createUser(tenant.id, { email: `empty${i}@example.test`, password: "long-enough-1" });
      const reset = await api("POST", `/v1/users/${user.id}/password-resets`, { token: ownerToken, body: "", headers: { "Content-Type": type } });
      expect(reset.status, type).toBe(201);
      const create = await api("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id, body: "", headers: { "Content-Type": type } });
      const problem = await expectProblem(create, 422, "validation_failed");
      expect(problem.errors!.map((e: { path: string }) => e.path).sort()).toEqual(["email", "external_id", "username"]);
    }
  });

  it("a JSON body that is not an object is a 422", async () => {
    const { tenant } = await createTenant();
    for (const body of ["[]", "\"text\"", "42", "null", "true"]) {
      const res = await api("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id, body });
      await expectProblem(res, 422, "validation_failed");
    }
  });
});

describe("strict bodies", () => {
  it("an unknown field is a 422 naming it, on create, patch and put", async () => {
    const { tenant } = await createTenant();
    const user = await createUser(tenant.id, { email: "strict@example.test" });
    const opts = { token: PLATFORM_KEY, tenant: tenant.id };
    for (const [method, path] of [
      ["POST", "/v1/users"],
      ["PATCH", `/v1/users/${user.id}`],
      ["PUT", `/v1/users/${user.id}`],
      ["PATCH", `/v1/tenants/${tenant.id}`],
    ] as const) {
      const res = await api(method, path, { ...opts, body: { email: "s2@example.test", password_hash: "x" } });
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(problem.errors).toContainEqual({ path: "password_hash", message: expect.any(String), code: "unrecognized_key" });
    }
    const after = await call("GET", `/v1/users/${user.id}`, opts);
    expect(after.body.email).toBe("strict@example.test");
  });

  it("wrong types are a 422 naming each field", async () => {
    const { tenant } = await createTenant();
    const user = await createUser(tenant.id, { email: "types@example.test" });
    const res = await api("PATCH", `/v1/users/${user.id}`, {
      token: PLATFORM_KEY,
      tenant: tenant.id,
      body: { is_active: "false", roles: "admin", metadata: [1, 2], first_name: 7 },
    });
    const problem = await expectProblem(res, 422, "validation_failed");
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(["first_name", "is_active", "metadata", "roles"]);
  });
});

describe("ETag and If-Match", () => {
  it("users: GET carries an ETag; a stale If-Match on PATCH is a 412 that changes nothing", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id };
    const user = await createUser(tenant.id, { email: "etag@example.test", first_name: "Ann" });
    const read = await call("GET", `/v1/users/${user.id}`, opts);
    const etag = read.headers.get("ETag")!;
    expect(etag).toMatch(/^"[^"]+"$/);

    const first = await call("PATCH", `/v1/users/${user.id}`, { ...opts, body: { first_name: "Bea" }, headers: { "If-Match": etag } });
    expect(first.status).toBe(200);
    const newTag = first.headers.get("ETag")!;
    expect(newTag).not.toBe(etag);

    const stale = await api("PATCH", `/v1/users/${user.id}`, { ...opts, body: { first_name: "Cid" }, headers: { "If-Match": etag } });
    await expectProblem(stale, 412, "precondition_failed");
    const after = await call("GET", `/v1/users/${user.id}`, opts);
    expect(after.body.first_name).toBe("Bea");
    expect(after.headers.get("ETag")).toBe(newTag);
  });

  it("users: PUT honours If-Match; * and a list containing the tag match", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id };
    const user = await createUser(tenant.id, { email: "put-etag@example.test" });
    const stale = await api("PUT", `/v1/users/${user.id}`, { ...opts, body: { email: "x@example.test" }, headers: { "If-Match": '"usr-00000000-99"' } });
    await expectProblem(stale, 412, "precondition_failed");
    expect((await call("GET", `/v1/users/${user.id}`, opts)).body.email).toBe("put-etag@example.test");

    const star = await call("PUT", `/v1/users/${user.id}`, { ...opts, body: { email: "star@example.test" }, headers: { "If-Match": "*" } });
    expect(star.status).toBe(200);
    const tag = star.headers.get("ETag")!;
    const listed = await call("PUT", `/v1/users/${user.id}`, {
      ...opts,
      body: { email: "listed@example.test" },
      headers: { "If-Match": `"other", ${tag}` },
    });
    expect(listed.status).toBe(200);
    expect(listed.body.email).toBe("listed@example.test");
  });

  it("users: PATCH /v1/users/me honours If-Match", async () => {
    const { ownerToken } = await createTenant();
    const me = await call("GET", "/v1/users/me", { token: ownerToken });
    await call("PATCH", "/v1/users/me", { token: ownerToken, body: { first_name: "Own" } });
    const stale = await api("PATCH", "/v1/users/me", { token: ownerToken, body: { first_name: "Late" }, headers: { "If-Match": me.headers.get("ETag")! } });
    await expectProblem(stale, 412, "precondition_failed");
    expect((await call("GET", "/v1/users/me", { token: ownerToken })).body.first_name).toBe("Own");
  });

  it("tenants: GET carries an ETag; stale If-Match on PATCH and DELETE is a 412 that changes nothing", async () => {
    const { tenant } = await createTenant();
    const read = await call("GET", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY });
    const etag = read.headers.get("ETag")!;
    expect(etag).toMatch(/^"[^"]+"$/);
    const patched = await call("PATCH", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY, body: { name: "Renamed" }, headers: { "If-Match": etag } });
    expect(patched.status).toBe(200);
    expect(patched.headers.get("ETag")).not.toBe(etag);

    await expectProblem(
      await api("PATCH", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY, body: { name: "Again" }, headers: { "If-Match": etag } }),
      412,
      "precondition_failed",
    );
    await expectProblem(
      await api("DELETE", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY, headers: { "If-Match": etag } }),
      412,
      "precondition_failed",
    );
    const after = await call("GET", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY });
    expect(after.status).toBe(200);
    expect(after.body.name).toBe("Renamed");
  });
});

describe("concurrent editors", () => {
  it("two PATCHes with the same If-Match: one wins, the other gets 412", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id };
    const user = await createUser(tenant.id, { email: "race@example.test" });
    const etag = (await call("GET", `/v1/users/${user.id}`, opts)).headers.get("ETag")!;
    const results = await Promise.all(
      ["One", "Two"].map((name) => call("PATCH", `/v1/users/${user.id}`, { ...opts, body: { first_name: name }, headers: { "If-Match": etag } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = results.find((r) => r.status === 200)!.body.first_name;
    expect((await call("GET", `/v1/users/${user.id}`, opts)).body.first_name).toBe(winner);
  });

  it("tenants: two PATCHes with the same If-Match: one 200, one 412", async () => {
    const { tenant } = await createTenant();
    const etag = (await call("GET", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY })).headers.get("ETag")!;
    const results = await Promise.all(
      ["One", "Two"].map((name) => call("PATCH", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY, body: { name }, headers: { "If-Match": etag } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
  });

  it("eight concurrent PATCHes without If-Match all apply (merged, none lost, no 409)", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id };
    const user = await createUser(tenant.id, { email: "merge-race@example.test" });
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const results = await Promise.all(keys.map((k, i) => call("PATCH", `/v1/users/${user.id}`, { ...opts, body: { metadata: { [k]: i } } })));
    expect(results.map((r) => r.status)).toEqual(keys.map(() => 200));
    expect((await call("GET", `/v1/users/${user.id}`, opts)).body.metadata).toEqual(Object.fromEntries(keys.map((k, i) => [k, i])));
  });

  it("tenants and roles: concurrent PATCHes without If-Match all succeed (no 412 without a tag)", async () => {
    const { tenant } = await createTenant();
    const names = ["n1", "n2", "n3", "n4", "n5", "n6"];
    const results = await Promise.all(names.map((name) => call("PATCH", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY, body: { name } })));
    expect(results.map((r) => r.status)).toEqual(names.map(() => 200));
    expect(names).toContain((await call("GET", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY })).body.name);
    const opts = { token: PLATFORM_KEY, tenant: tenant.id };
    expect((await call("POST", "/v1/roles", { ...opts, body: { name: "RACE", permissions: ["a:b"] } })).status).toBe(201);
    const roles = await Promise.all(names.map((d) => call("PATCH", "/v1/roles/RACE", { ...opts, body: { description: d } })));
    expect(roles.map((r) => r.status)).toEqual(names.map(() => 200));
  });
});

describe("Idempotency-Key", () => {
  it("concurrent retries with one key create exactly one user", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id, headers: { "Idempotency-Key": "burst" }, body: { email: "burst@example.test" } };
    const results = await Promise.all(Array.from({ length: 5 }, () => call("POST", "/v1/users", opts)));
    for (const r of results) expect([201, 409]).toContain(r.status);
    expect(results.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe("idempotency_key_in_progress");
    expect(await countUsers(tenant.id)).toBe(2);
  });

  it("a retry with the same key and body replays the first answer and creates nothing more", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id, headers: { "Idempotency-Key": "create-ann-1" } };
    const first = await call("POST", "/v1/users", { ...opts, body: { email: "ann@example.test" } });
    expect(first.status).toBe(201);
    const second = await call("POST", "/v1/users", { ...opts, body: { email: "ann@example.test" } });
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("ETag")).toBe(first.headers.get("ETag"));
    expect(second.headers.get("Idempotent-Replayed")).toBe("true");
    expect(second.headers.get("X-Request-Id")).toBeTruthy();
    expect(await countUsers(tenant.id)).toBe(2);
  });

  it("creating a managed user honours it too: a replay answers the same child and makes no second one", async () => {
    const { tenant, ownerToken } = await createTenant();
    const opts = { token: ownerToken, headers: { "Idempotency-Key": "kid-1" }, body: { first_name: "Kid", last_name: "Doe" } };
    const first = await call("POST", "/v1/users/me/managed-users", opts);
    expect(first.status).toBe(201);
    const again = await call("POST", "/v1/users/me/managed-users", opts);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await countUsers(tenant.id)).toBe(2);
    await expectProblem(await api("POST", "/v1/users/me/managed-users", { ...opts, body: { first_name: "Other" } }), 422, "idempotency_key_reused");
    expect(await countUsers(tenant.id)).toBe(2);
  });

  it("the same key with another body is a 422 idempotency_key_reused", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id, headers: { "Idempotency-Key": "k-reused" } };
    expect((await call("POST", "/v1/users", { ...opts, body: { email: "one@example.test" } })).status).toBe(201);
    const res = await api("POST", "/v1/users", { ...opts, body: { email: "two@example.test" } });
    await expectProblem(res, 422, "idempotency_key_reused");
    expect(await countUsers(tenant.id)).toBe(2);
  });

  it("the same fields in another order are the same request (replayed, not reused)", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id, headers: { "Idempotency-Key": "k-order" } };
    const first = await call("POST", "/v1/users", { ...opts, body: '{"email":"order@example.test","first_name":"Ann","metadata":{"a":1,"b":2}}' });
    const again = await api("POST", "/v1/users", { ...opts, body: '{"metadata":{"b":2,"a":1},"first_name":"Ann","email":"order@example.test"}' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await countUsers(tenant.id)).toBe(2);
  });

  it("a refused request (4xx) keeps nothing: the key works for the corrected request", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id, headers: { "Idempotency-Key": "k-fix" } };
    await expectProblem(await api("POST", "/v1/users", { ...opts, body: { email: "not-an-email" } }), 422, "validation_failed");
    const fixed = await call("POST", "/v1/users", { ...opts, body: { email: "fixed@example.test" } });
    expect(fixed.status).toBe(201);
    const replay = await api("POST", "/v1/users", { ...opts, body: { email: "fixed@example.test" } });
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await countUsers(tenant.id)).toBe(2);
  });

  it("an invalid key is a 422 and creates nothing", async () => {
    const { tenant } = await createTenant();
    for (const key of ["x".repeat(256), ""]) {
      const res = await api("POST", "/v1/users", {
        token: PLATFORM_KEY,
        tenant: tenant.id,
        body: { email: "k@example.test" },
        headers: { "Idempotency-Key": key },
      });
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(problem.errors![0]!.path).toBe("Idempotency-Key");
    }
    expect(await countUsers(tenant.id)).toBe(1);
    const longest = await call("POST", "/v1/users", {
      token: PLATFORM_KEY,
      tenant: tenant.id,
      body: { email: "k@example.test" },
      headers: { "Idempotency-Key": "~".repeat(255) },
    });
    expect(longest.status).toBe(201);
  });

  it("keys are scoped to the caller: another tenant's principal using the same key creates its own", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const headers = { "Idempotency-Key": "shared-key" };
    const inA = await call("POST", "/v1/users", { token: a.ownerToken, body: { email: "same@example.test" }, headers });
    const inB = await call("POST", "/v1/users", { token: b.ownerToken, body: { email: "same@example.test" }, headers });
    expect(inA.status).toBe(201);
    expect(inB.status).toBe(201);
    expect(inB.body.id).not.toBe(inA.body.id);
    expect(inB.body.tenant_id).toBe(b.tenant.id);
  });

  it("a replayed error answer stays the same error", async () => {
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id, headers: { "Idempotency-Key": "dup-owner" } };
    const body = { email: `owner@${tenant.slug}.test` };
    const first = await call("POST", "/v1/users", { ...opts, body });
    expect(first.status).toBe(409);
    const again = await call("POST", "/v1/users", { ...opts, body });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("conflict");
  });

  it("a key is kept 24 hours: after that the same key may carry a new request", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const start = Date.now();
      const { tenant } = await createTenant();
      const opts = { token: PLATFORM_KEY, tenant: tenant.id, headers: { "Idempotency-Key": "daily" } };
      expect((await call("POST", "/v1/users", { ...opts, body: { email: "day1@example.test" } })).status).toBe(201);
      vi.setSystemTime(start + 23 * 3600_000);
      await expectProblem(await api("POST", "/v1/users", { ...opts, body: { email: "day2@example.test" } }), 422, "idempotency_key_reused");
      vi.setSystemTime(start + 25 * 3600_000);
      const later = await call("POST", "/v1/users", { ...opts, body: { email: "day2@example.test" } });
      expect(later.status).toBe(201);
      expect(later.body.email).toBe("day2@example.test");
      expect(await countUsers(tenant.id)).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("tenant creation honours the key too", async () => {
    const slug = uniqueSlug("idem");
    const headers = { "Idempotency-Key": `tenant-${slug}` };
    const first = await call("POST", "/v1/tenants", { token: PLATFORM_KEY, body: { slug, name: "Idem" }, headers });
    const second = await call("POST", "/v1/tenants", { token: PLATFORM_KEY, body: { slug, name: "Idem" }, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    const reused = await api("POST", "/v1/tenants", { token: PLATFORM_KEY, body: { slug, name: "Other" }, headers });
    await expectProblem(reused, 422, "idempotency_key_reused");
  });
});

describe("service routes", () => {
  it("GET /healthz answers ok without credentials", async () => {
    const res = await call("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("GET /docs renders a page that loads /openapi.json", async () => {
    const res = await api("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toContain("/openapi.json");
  });

  it("GET /.well-known/jwks.json serves public keys only", async () => {
    const res = await call("GET", "/.well-known/jwks.json");
    expect(res.status).toBe(200);
    expect(res.body.keys.length).toBeGreaterThan(0);
    for (const key of res.body.keys) {
      expect(key.kid).toBeTruthy();
      expect(key.d).toBeUndefined();
    }
  });
});
