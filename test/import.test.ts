import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, signIn, userWithToken } from "./helpers";
import { watchD1 } from "./d1-counter";

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });
const importUsers = (tenantId: string, body: unknown, opts: { token?: string; headers?: Record<string, string> } = {}) =>
  call("POST", "/v1/users/import", { ...(opts.token ? { token: opts.token } : asPlatform(tenantId)), body, headers: opts.headers });

const countUsers = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

const BCRYPT = "$2b$12$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq"; // "password" (passlib)

describe("POST /v1/users/import", () => {
  it("creates users and answers one result per item in input order, with counts", async () => {
    const { tenant } = await createTenant();
    const res = await importUsers(tenant.id, {
      users: [
        { email: "a@x.test", first_name: "Ann", roles: ["admin"], metadata: { plan: "pro" } },
        { email: "not-an-email" },
        { username: "bob", external_id: "ext-1", is_active: false },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ created: 2, updated: 0, skipped: 0, failed: 1 });
    expect(res.body.results.map((r: { index: number; status: string }) => [r.index, r.status])).toEqual([
      [0, "created"],
      [1, "failed"],
      [2, "created"],
    ]);
    expect(res.body.results[1].errors).toEqual([expect.objectContaining({ path: "email", code: "invalid_format" })]);
    expect(res.body.results[1].id).toBeUndefined();
    const ann = await call("GET", `/v1/users/${res.body.results[0].id}`, asPlatform(tenant.id));
    expect(ann.body).toMatchObject({ email: "a@x.test", first_name: "Ann", roles: ["admin"], metadata: { plan: "pro" }, has_password: false });
    const bob = await call("GET", `/v1/users/${res.body.results[2].id}`, asPlatform(tenant.id));
    expect(bob.body).toMatchObject({ username: "bob", external_id: "ext-1", is_active: false, roles: ["member"] });
  });
});

describe("POST /v1/users/import: the envelope", () => {
  it("an invalid envelope is a 422 naming every bad field, and nothing is imported", async () => {
    const { tenant } = await createTenant();
    const before = await countUsers(tenant.id);
    const cases: [unknown, string[]][] = [
      [{}, ["users"]],
      [{ users: [] }, ["users"]],
      [{ users: "alice" }, ["users"]],
      [{ users: [{ email: "a@x.test" }], on_conflict: "merge", ids: "old" }, ["on_conflict", "ids"]],
      [{ users: [{ email: "a@x.test" }], extra: 1 }, ["extra"]],
      [{ users: [{ email: "a@x.test" }], hash_config: { firebase_scrypt: { signer_key: "!!", rounds: 0 } } }, [
        "hash_config.firebase_scrypt.signer_key",
        "hash_config.firebase_scrypt.salt_separator",
        "hash_config.firebase_scrypt.rounds",
        "hash_config.firebase_scrypt.mem_cost",
      ]],
      [{ users: Array.from({ length: 1001 }, (_, i) => ({ email: `u${i}@x.test` })) }, ["users"]],
    ];
    for (const [body, paths] of cases) {
      const res = await api("POST", "/v1/users/import", { ...asPlatform(tenant.id), body });
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(problem.errors!.map((e) => e.path).sort(), JSON.stringify(body).slice(0, 80)).toEqual([...paths].sort());
    }
    expect(await countUsers(tenant.id)).toBe(before);
  });

  it("malformed JSON is a 400, another content type a 415", async () => {
    const { tenant } = await createTenant();
    await expectProblem(await api("POST", "/v1/users/import", { ...asPlatform(tenant.id), body: "{\"users\": [" }), 400, "malformed_json");
    await expectProblem(
      await api("POST", "/v1/users/import", { ...asPlatform(tenant.id), body: "email=a", headers: { "Content-Type": "text/csv" } }),
      415,
      "unsupported_media_type",
    );
  });

  it("takes bodies up to 5 MiB (other routes stop at 64 KiB); a bigger one is a 413 with nothing imported", async () => {
    const { tenant } = await createTenant();
    const filler = "x".repeat(15 * 1024);
    const big = { users: Array.from({ length: 20 }, (_, i) => ({ email: `big${i}@x.test`, metadata: { filler } })) };
    expect(JSON.stringify(big).length).toBeGreaterThan(256 * 1024);
    const ok = await importUsers(tenant.id, big);
    expect(ok.status).toBe(200);
    expect(ok.body.created).toBe(20);
    await expectProblem(await api("POST", "/v1/users", { ...asPlatform(tenant.id), body: { email: "c@x.test", metadata: { filler: "x".repeat(70 * 1024) } } }), 413, "payload_too_large");

    const before = await countUsers(tenant.id);
    const tooBig = { users: Array.from({ length: 400 }, (_, i) => ({ email: `huge${i}@x.test`, metadata: { filler } })) };
    expect(JSON.stringify(tooBig).length).toBeGreaterThan(5 * 1024 * 1024);
    await expectProblem(await api("POST", "/v1/users/import", { ...asPlatform(tenant.id), body: tooBig }), 413, "payload_too_large");
    expect(await countUsers(tenant.id)).toBe(before);
  });

  it("needs users:write (403, nothing imported) and credentials (401)", async () => {
    const { tenant } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    const before = await countUsers(tenant.id);
    await expectProblem(await api("POST", "/v1/users/import", { token: member.token, body: { users: [{ email: "n@x.test" }] } }), 403, "forbidden");
    await expectProblem(await api("POST", "/v1/users/import", { body: { users: [{ email: "n@x.test" }] } }), 401, "unauthorized");
    expect(await countUsers(tenant.id)).toBe(before);
  });

  it("a tenant principal imports into its own tenant only, whatever it names", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const res = await call("POST", "/v1/users/import", { token: a.ownerToken, tenant: b.tenant.id, body: { users: [{ email: "x@x.test" }] } });
    expect(res.status).toBe(200);
    const inB = await call("GET", "/v1/users?email=x@x.test", asPlatform(b.tenant.id));
    expect(inB.body.items).toHaveLength(0);
    const inA = await call("GET", "/v1/users?email=x@x.test", asPlatform(a.tenant.id));
    expect(inA.body.items).toHaveLength(1);
  });
});

describe("POST /v1/users/import: bad items fail alone", () => {
  it("each bad item fails with errors naming its own fields; the good ones are imported", async () => {
    const { tenant } = await createTenant();
    const items: [unknown, string, string][] = [
      [{ email: "ok1@x.test", password: "plaintext-pass" }, "password", "unrecognized_key"],
      [{ email: "ok2@x.test", temporary_password: true }, "temporary_password", "unrecognized_key"],
      [{ first_name: "Nobody" }, "email", "identifier_required"],
      [{ email: "ok3@x.test", id: "not-an-id" }, "id", "invalid_format"],
      [{ email: "ok4@x.test", created_at: "yesterday" }, "created_at", "invalid_format"],
      [{ email: "ok5@x.test", roles: ["no-such-role"] }, "roles", "unknown_role"],
      [{ email: "ok6@x.test", metadata: { big: "x".repeat(17 * 1024) } }, "metadata", "custom"],
      [{ email: "ok7@x.test", password_hash: "hunter2" }, "password_hash", "unsupported_password_hash"],
      [{ email: "ok8@x.test", password_hash: "$2b$15$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq" }, "password_hash", "password_hash_too_costly"],
      [{ email: "ok9@x.test", password_hash: "bG9s", password_salt: "c2FsdA==" }, "password_salt", "hash_config_required"],
      [{ email: "ok10@x.test", manager_id: "usr_0000000000000000000000000a" }, "manager_id", "manager_not_found"],
      ["just a string", "", "invalid_type"],
      [{ email: "ok11@x.test", is_active: "yes" }, "is_active", "invalid_type"],
    ];
    const res = await importUsers(tenant.id, { users: [{ email: "first@x.test" }, ...items.map(([item]) => item), { email: "last@x.test" }] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 2, failed: items.length });
    items.forEach(([, path, code], i) => {
      const result = res.body.results[i + 1];
      expect(result, `item ${i + 1}`).toMatchObject({ index: i + 1, status: "failed" });
      expect(result.errors, `item ${i + 1}`).toContainEqual(expect.objectContaining({ path, code }));
    });
    expect(res.body.results.at(-1)).toMatchObject({ status: "created" });
    const okUsers = await call("GET", "/v1/users?search=ok", asPlatform(tenant.id));
    expect(okUsers.body.items).toHaveLength(0);
  });

  it("a managed user gets no password: manager_id with password_hash fails the item", async () => {
    const { tenant, owner } = await createTenant();
    const res = await importUsers(tenant.id, { users: [{ first_name: "Kid", last_name: "One", manager_id: owner.id, password_hash: BCRYPT }] });
    expect(res.body.results[0]).toMatchObject({ status: "failed", errors: [expect.objectContaining({ path: "password_hash", code: "managed_user_password" })] });
  });

  it("an export line is a valid item as it is: descriptive fields are accepted and ignored", async () => {
    const { tenant } = await createTenant();
    const line = {
      id: "usr_01jz0000000000000000000000",
      tenant_id: "ten_elsewhere",
      username: null,
      email: "line@x.test",
      first_name: "Lin",
      last_name: null,
      display_name: "Lin",
      is_active: true,
      is_managed: false,
      manager_id: null,
      roles: ["member"],
      metadata: {},
      external_id: null,
      has_password: true,
      password_change_required: true,
      created_at: "2020-01-02T03:04:05.000Z",
      updated_at: "2021-01-01T00:00:00.000Z",
      last_login_at: null,
      password_hash: BCRYPT,
    };
    const res = await importUsers(tenant.id, { users: [line] });
    expect(res.body.results[0]).toEqual({ index: 0, status: "created", id: line.id });
    const user = await call("GET", `/v1/users/${line.id}`, asPlatform(tenant.id));
    expect(user.body).toMatchObject({ tenant_id: tenant.id, email: "line@x.test", created_at: line.created_at, password_change_required: true, has_password: true });
    expect(user.body.updated_at).not.toBe(line.updated_at);
  });
});

describe("POST /v1/users/import: conflicts", () => {
  it("on_conflict fail (default): an item matching an existing user fails with conflict naming the field", async () => {
    const { tenant } = await createTenant();
    await createUser(tenant.id, { email: "Taken@x.test", username: "taken", external_id: "ext-taken" });
    const res = await importUsers(tenant.id, {
      users: [{ email: "taken@X.test" }, { username: "TAKEN" }, { external_id: "EXT-Taken" }, { email: "free@x.test" }],
    });
    expect(res.body).toMatchObject({ created: 1, failed: 3 });
    expect(res.body.results.slice(0, 3).map((r: { errors: { path: string; code: string }[] }) => r.errors[0])).toEqual([
      expect.objectContaining({ path: "email", code: "conflict" }),
      expect.objectContaining({ path: "username", code: "conflict" }),
      expect.objectContaining({ path: "external_id", code: "conflict" }),
    ]);
  });

  it("identity rules hold between the items of one request: skip skips the repeat, update updates it, fail fails it", async () => {
    const { tenant } = await createTenant();
    const users = [{ email: "dup@x.test", first_name: "One" }, { email: "DUP@x.test", first_name: "Two" }];
    const failed = await importUsers(tenant.id, { users });
    expect(failed.body.results.map((r: { status: string }) => r.status)).toEqual(["created", "failed"]);
    expect(failed.body.results[1].errors[0]).toMatchObject({ path: "email", code: "conflict" });

    const other = await createTenant();
    const skipped = await importUsers(other.tenant.id, { users, on_conflict: "skip" });
    expect(skipped.body.results.map((r: { status: string }) => r.status)).toEqual(["created", "skipped"]);
    expect(skipped.body.results[1].id).toBe(skipped.body.results[0].id);

    const third = await createTenant();
    const updated = await importUsers(third.tenant.id, { users, on_conflict: "update" });
    expect(updated.body).toMatchObject({ created: 1, updated: 1 });
    const user = await call("GET", `/v1/users/${updated.body.results[0].id}`, asPlatform(third.tenant.id));
    expect(user.body).toMatchObject({ email: "DUP@x.test", first_name: "Two" });

    // External ids too, ignoring case.
    const fourth = await createTenant();
    const ext = await importUsers(fourth.tenant.id, { users: [{ external_id: "idp|Ab" }, { external_id: "IDP|aB" }] });
    expect(ext.body.results.map((r: { status: string }) => r.status)).toEqual(["created", "failed"]);
    expect(ext.body.results[1].errors[0]).toMatchObject({ path: "external_id", code: "conflict" });
  });

  it("on_conflict update changes only the given fields (null clears), replaces roles and metadata, and records user.updated", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "up@x.test", first_name: "Old", last_name: "Name", metadata: { a: 1 }, roles: ["member"] });
    const res = await importUsers(tenant.id, {
      on_conflict: "update",
      users: [{ email: "up@x.test", first_name: "New", last_name: null, metadata: { b: 2 }, roles: ["admin"], password_hash: BCRYPT }],
    });
    expect(res.body.results[0]).toEqual({ index: 0, status: "updated", id: u.id });
    const after = await call("GET", `/v1/users/${u.id}`, asPlatform(tenant.id));
    expect(after.body).toMatchObject({ first_name: "New", last_name: null, metadata: { b: 2 }, roles: ["admin"], has_password: true, email: "up@x.test" });
    expect((await signIn(tenant.slug, { email: "up@x.test" }, "password")).status).toBe(200);
    const events = await call("GET", "/v1/events?type=user.updated", asPlatform(tenant.id));
    expect(events.body.items.at(-1).data).toMatchObject({ user_id: u.id, imported: true, fields: expect.arrayContaining(["first_name", "roles", "password"]) });
  });

  it("update fails an item whose identifiers match two different users, or that would take another user's email", async () => {
    const { tenant } = await createTenant();
    await createUser(tenant.id, { email: "one@x.test" });
    await createUser(tenant.id, { email: "two@x.test", username: "two" });
    const res = await importUsers(tenant.id, {
      on_conflict: "update",
      users: [{ email: "one@x.test", username: "two" }, { username: "two", email: "one@x.test" }, { email: "one@x.test", first_name: "Fine" }],
    });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(["failed", "failed", "updated"]);
    expect(res.body.results[0].errors[0].code).toBe("conflict");
  });

  it("an item that would deactivate the last owner fails alone with last_owner; the others are imported", async () => {
    const { tenant, owner } = await createTenant();
    const res = await importUsers(tenant.id, {
      on_conflict: "update",
      users: [{ email: "before@x.test" }, { email: owner.email, is_active: false }, { email: "after@x.test" }],
    });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(["created", "failed", "created"]);
    expect(res.body.results[1].errors[0].code).toBe("last_owner");
    const o = await call("GET", `/v1/users/${owner.id}`, asPlatform(tenant.id));
    expect(o.body.is_active).toBe(true);
  });
});

describe("POST /v1/users/import: concurrent writes", () => {
  /**
   * The app over the real D1, with one real write slipped in right after the import's read
   * batch: what a concurrent PATCH landing between the import's read and its write does.
   */
  async function importWithWriteBetween(tenantId: string, body: unknown, between: () => Promise<unknown>, onBatch = () => {}) {
    let batches = 0;
    const db = watchD1(env.DB, {
      async batch(method, _args, send) {
        if (method !== "batch") return send();
        onBatch();
        const result = await send();
        if (++batches === 1) await between();
        return result;
      },
    });
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const request = new Request("http://userplane.test/v1/users/import", {
      method: "POST",
      headers: { Authorization: `Bearer ${PLATFORM_KEY}`, "X-Tenant": tenantId, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const res = await createApp().fetch(request, { ...env, DB: db }, ctx);
    return { status: res.status, body: (await res.json()) as { results: { status: string }[] } };
  }

  it("a user changed between the import's read and its write is re-read, so neither change is lost", async () => {
    const { tenant } = await createTenant();
    const u = await createUser(tenant.id, { email: "race@x.test", metadata: { before: true } });
    const res = await importWithWriteBetween(
      tenant.id,
      { on_conflict: "update", users: [{ email: "race@x.test", first_name: "Imported" }, { email: "fresh@x.test" }] },
      () => env.DB.prepare(`UPDATE users SET metadata = '{"concurrent":true}', version = version + 1 WHERE id = ?`).bind(u.id).run(),
    );
    expect(res.body.results.map((r) => r.status)).toEqual(["updated", "created"]);
    const after = await call("GET", `/v1/users/${u.id}`, asPlatform(tenant.id));
    expect(after.body).toMatchObject({ first_name: "Imported", metadata: { concurrent: true } });
    expect(await countUsers(tenant.id)).toBe(3);
  });

  it("one refused item among 600 costs a few dozen round trips, not one per item", async () => {
    const { tenant, owner } = await createTenant();
    const users = Array.from({ length: 600 }, (_, i) => (i === 400 ? { email: owner.email, is_active: false } : { email: `many${i}@x.test` }));
    let trips = 0;
    const res = await importWithWriteBetween(tenant.id, { on_conflict: "update", users }, async () => {}, () => trips++);
    expect(res.body.results.filter((r) => r.status === "failed").map((r) => (r as { index?: number }).index)).toEqual([400]);
    expect(await countUsers(tenant.id)).toBe(600);
    expect(trips).toBeLessThan(50);
  });

  it("an email taken between the read and the write fails that item alone (conflict); the rest is imported", async () => {
    const { tenant } = await createTenant();
    const res = await importWithWriteBetween(
      tenant.id,
      { users: [{ email: "one@x.test" }, { email: "sniped@x.test" }, { email: "three@x.test" }] },
      () => call("POST", "/v1/users", { ...asPlatform(tenant.id), body: { email: "sniped@x.test" } }),
    );
    expect(res.body.results.map((r) => r.status)).toEqual(["created", "failed", "created"]);
    expect(res.body.results[1]).toMatchObject({ errors: [expect.objectContaining({ path: "email", code: "conflict" })] });
  });
});
