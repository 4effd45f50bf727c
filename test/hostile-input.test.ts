import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64url } from "../src/lib/crypto";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY } from "./helpers";

/**
 * Hostile input: every answer is a clear 4xx (or a correct 200 for a harmless search), never a
 * 5xx, and nothing changes. "Nothing changes" is checked on the database itself: a fingerprint
 * of every user row of the tenant (and the table counts) before and after.
 */
async function fingerprint(tenantId: string) {
  const rows = await env.DB.prepare(
    "SELECT id, username, email, first_name, last_name, is_active, metadata, version, deleted_at FROM users WHERE tenant_id = ? ORDER BY id",
  )
    .bind(tenantId)
    .all();
  const counts = await env.DB.prepare(
    "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM tenants) AS tenants, (SELECT count(*) FROM user_roles) AS grants, (SELECT count(*) FROM roles) AS roles",
  ).first();
  return JSON.stringify([rows.results, counts]);
}

async function fixture() {
  const f = await createTenant();
  const user = await createUser(f.tenant.id, { email: "target@x.test", username: "target", first_name: "Tar", last_name: "Get", metadata: { keep: 1 } });
  return { ...f, user, opts: { token: f.ownerToken } };
}

interface Outcome {
  label: string;
  status: number;
  code?: string;
  type: string | null;
}

async function send(label: string, method: string, path: string, opts: Parameters<typeof api>[2]): Promise<Outcome> {
  const res = await api(method, path, opts);
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {
    code = undefined;
  }
  return { label, status: res.status, code, type: res.headers.get("content-type") };
}

/** Every outcome is a 4xx problem (or one of the statuses allowed for that case). */
function expectRefusedCleanly(outcomes: Outcome[]) {
  const bad = outcomes.filter((o) => !(o.status >= 400 && o.status < 500 && o.type?.startsWith("application/problem+json") && o.code));
  expect(bad).toEqual([]);
}

const SQLISH = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  "\" OR 1=1 --",
  "1; DELETE FROM users",
  "') UNION SELECT password_hash, 1, 1 FROM users --",
  "%' AND 1=1 --",
  "\\",
  "*/ SELECT /*",
];

describe("SQL-looking strings", () => {
  it("as search terms and filters: a correct, empty 200, and nothing changes", async () => {
    const f = await fixture();
    const before = await fingerprint(f.tenant.id);
    for (const s of SQLISH) {
      for (const param of ["search", "username", "email", "role", "manager_id"]) {
        const res = await call("GET", `/v1/users?${param}=${encodeURIComponent(s)}`, f.opts);
        expect(res.status, `${param}=${s}`).toBe(200);
        expect(res.body.items, `${param}=${s}`).toEqual([]);
      }
    }
    expect(await fingerprint(f.tenant.id)).toBe(before);
  });

  it("as ids, sorts, cursors and X-Tenant: a clear 4xx", async () => {
    const f = await fixture();
    const before = await fingerprint(f.tenant.id);
    const outcomes: Outcome[] = [];
    for (const s of SQLISH) {
      const e = encodeURIComponent(s);
      outcomes.push(await send(`id ${s}`, "GET", `/v1/users/${e}`, f.opts));
      outcomes.push(await send(`patch id ${s}`, "PATCH", `/v1/users/${e}`, { ...f.opts, body: { first_name: "x" } }));
      outcomes.push(await send(`sort ${s}`, "GET", `/v1/users?sort=${e}`, f.opts));
      outcomes.push(await send(`cursor ${s}`, "GET", `/v1/users?cursor=${e}`, f.opts));
      outcomes.push(await send(`tenant ${s}`, "GET", `/v1/users`, { token: PLATFORM_KEY, tenant: s.replace(/[^\x20-\x7e]/g, "") }));
      outcomes.push(await send(`tenant path ${s}`, "GET", `/v1/tenants/${e}`, { token: PLATFORM_KEY }));
    }
    expectRefusedCleanly(outcomes);
    expect(await fingerprint(f.tenant.id)).toBe(before);
  });

  it("as values in a body: stored and returned literally, no other row touched", async () => {
    const f = await fixture();
    const others = await fingerprint(f.tenant.id);
    const created = await call("POST", "/v1/users", {
      ...f.opts,
      body: { username: "robert.tables", first_name: "Robert'); DROP TABLE users;--", last_name: SQLISH[4], metadata: { [SQLISH[1]!]: SQLISH[0] } },
    });
    expect(created.status).toBe(201);
    expect(created.body.first_name).toBe("Robert'); DROP TABLE users;--");
    expect(created.body.metadata).toEqual({ [SQLISH[1]!]: SQLISH[0] });
    const found = await call("GET", `/v1/users?search=${encodeURIComponent("DROP TABLE")}`, f.opts);
    expect(found.body.items.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
    await call("DELETE", `/v1/users/${created.body.id}`, f.opts);
    // After removing the one row we added, the tenant is exactly as before.
    const purged = await env.DB.prepare("DELETE FROM users WHERE tenant_id = ? AND id = ?").bind(f.tenant.id, created.body.id).run();
    expect(purged.success).toBe(true);
    expect(await fingerprint(f.tenant.id)).toBe(others);
  });
});

describe("% and _ in search", () => {
  it("match literally, on both the short (LIKE) and the long (trigram) path", async () => {
    const f = await fixture();
    const pct = await createUser(f.tenant.id, { email: "pct@x.test", first_name: "100%", last_name: "a_b" });
    const plain = await createUser(f.tenant.id, { email: "plain@x.test", first_name: "1000", last_name: "axb" });
    const q = async (term: string) =>
      (await call("GET", `/v1/users?search=${encodeURIComponent(term)}&limit=100`, f.opts)).body.items.map((u: { id: string }) => u.id);
    for (const term of ["%", "0%", "100%", "_", "a_", "a_b"]) expect(await q(term), term).toEqual([pct.id]);
    for (const term of ["%%", "1%0", "x%", "a%b", "__", "a__"]) expect(await q(term), term).toEqual([]);
    expect(await q("axb")).toEqual([plain.id]);
  });
});

describe("unicode", () => {
  it("names, usernames and metadata keep every character, and search finds them", async () => {
    const f = await fixture();
    const body = {
      email: "ünï@exämple.test".normalize("NFC").replace(/[^\x20-\x7e]/g, "u") ,
      username: "zoe.李_小龍",
      first_name: "Zoë 🦄 李小龍",
      last_name: "עברית\u200f مرحبا",
      metadata: { "clé 🔑": "värde", nested: { "😀": ["ü", "\u0301e"] } },
    };
    const created = await call("POST", "/v1/users", { ...f.opts, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: body.username, first_name: body.first_name, last_name: body.last_name, metadata: body.metadata });
    const read = await call("GET", `/v1/users/${created.body.id}`, f.opts);
    expect(read.body.first_name).toBe(body.first_name);
    for (const term of ["🦄", "李小", "עברית", "zoë", "ZOË 🦄"]) {
      const found = await call("GET", `/v1/users?search=${encodeURIComponent(term)}`, f.opts);
      expect(found.status, term).toBe(200);
      expect(found.body.items.map((u: { id: string }) => u.id), term).toEqual([created.body.id]);
    }
  });

  it("control characters, lone surrogates and NUL are answered without a 5xx", async () => {
    const f = await fixture();
    const outcomes: { label: string; status: number }[] = [];
    for (const [label, raw] of [
      ["NUL in a name", '{"email":"nul@x.test","first_name":"a\\u0000b"}'],
      ["lone high surrogate", '{"email":"sur@x.test","first_name":"\\ud800"}'],
      ["lone low surrogate in metadata key", '{"email":"sur2@x.test","metadata":{"\\udc00":1}}'],
      ["control chars", '{"email":"ctl@x.test","first_name":"\\u0007\\u001b[31m"}'],
      ["NUL in email", '{"email":"a\\u0000@x.test"}'],
      ["NUL in username", '{"username":"a\\u0000b"}'],
    ] as const) {
      const res = await api("POST", "/v1/users", { ...f.opts, body: raw });
      outcomes.push({ label, status: res.status });
    }
    // Percent-encoded as a client would send them; %ED%A0%80 is a UTF-8-encoded lone surrogate and
    // %FF is no UTF-8 at all.
    for (const term of ["%00", "%ED%A0%80", "a%00b", "%07", "%FF", "%C0%80", "%"]) {
      const res = await api("GET", `/v1/users?search=${term}`, f.opts);
      outcomes.push({ label: `search ${term}`, status: res.status });
    }
    expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
    expect(outcomes.filter((o) => ["search %00", "search a%00b", "search %07"].includes(o.label)).map((o) => o.status)).toEqual([422, 422, 422]);
    expect(outcomes.filter((o) => o.label.startsWith("NUL in email") || o.label.startsWith("NUL in username")).map((o) => o.status)).toEqual([422, 422]);
  });
});

describe("10,000-character strings", () => {
  it("are refused with a 422 naming the field, or a clear 4xx, everywhere", async () => {
    const f = await fixture();
    const before = await fingerprint(f.tenant.id);
    const long = "a".repeat(10_000);
    const outcomes: Outcome[] = [];
    for (const field of ["email", "username", "first_name", "last_name", "external_id", "password"]) {
      outcomes.push(await send(`POST ${field}`, "POST", "/v1/users", { ...f.opts, body: { email: "long@x.test", [field]: field === "email" ? `${long}@x.test` : long } }));
      if (field !== "password") outcomes.push(await send(`PATCH ${field}`, "PATCH", `/v1/users/${f.user.id}`, { ...f.opts, body: { [field]: field === "email" ? `${long}@x.test` : long } }));
    }
    outcomes.push(await send("POST roles", "POST", "/v1/users", { ...f.opts, body: { email: "long@x.test", roles: [long] } }));
    for (const param of ["search", "username", "email", "role", "manager_id", "sort", "cursor", "limit", "page"]) {
      outcomes.push(await send(`GET ?${param}`, "GET", `/v1/users?${param}=${long}`, f.opts));
    }
    outcomes.push(await send("path id", "GET", `/v1/users/${long}`, f.opts));
    outcomes.push(await send("tenant path id", "GET", `/v1/tenants/${long}`, { token: PLATFORM_KEY }));
    outcomes.push(await send("X-Tenant", "GET", "/v1/users", { token: PLATFORM_KEY, tenant: long }));
    outcomes.push(await send("Idempotency-Key", "POST", "/v1/users", { ...f.opts, body: { email: "idem@x.test" }, headers: { "Idempotency-Key": long } }));
    outcomes.push(await send("bearer", "GET", "/v1/users", { token: long }));
    outcomes.push(await send("cookie", "GET", "/v1/users", { headers: { Cookie: `token=${long}` } }));
    outcomes.push(await send("tenant slug", "POST", "/v1/tenants", { token: PLATFORM_KEY, body: { slug: long, name: "x" } }));
    outcomes.push(await send("tenant name", "PATCH", `/v1/tenants/${f.tenant.id}`, { token: PLATFORM_KEY, body: { name: long } }));
    expectRefusedCleanly(outcomes);
    const fieldsNamed = outcomes.filter((o) => o.label.startsWith("POST ") || o.label.startsWith("PATCH ")).map((o) => o.code);
    expect(new Set(fieldsNamed)).toEqual(new Set(["validation_failed"]));
    expect(await fingerprint(f.tenant.id)).toBe(before);
  });

  it("a long value that is allowed (a 10,000-character metadata string) is stored whole", async () => {
    const f = await fixture();
    const long = "ü".repeat(5_000);
    const res = await call("PATCH", `/v1/users/${f.user.id}`, { ...f.opts, body: { metadata: { note: long } } });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ keep: 1, note: long });
  });
});

describe("wrong types", () => {
  it("every field with the wrong type is a 422, nothing changes", async () => {
    const f = await fixture();
    const before = await fingerprint(f.tenant.id);
    const wrong: Record<string, unknown[]> = {
      email: [42, true, ["a@x.test"], { a: 1 }],
      username: [42, false, ["x"], { a: 1 }],
      first_name: [1, true, [], {}],
      is_active: ["true", 1, 0, "yes", [], {}],
      roles: ["admin", [1], [null], {}, true],
      metadata: ["{}", [1, 2], 7, true],
      external_id: [1, [], {}],
    };
    const outcomes: Outcome[] = [];
    for (const [field, values] of Object.entries(wrong)) {
      for (const value of values) {
        const label = `${field}=${JSON.stringify(value)}`;
        outcomes.push(await send(`POST ${label}`, "POST", "/v1/users", { ...f.opts, body: { email: "wt@x.test", [field]: value } }));
        outcomes.push(await send(`PATCH ${label}`, "PATCH", `/v1/users/${f.user.id}`, { ...f.opts, body: { [field]: value } }));
        outcomes.push(await send(`PUT ${label}`, "PUT", `/v1/users/${f.user.id}`, { ...f.opts, body: { email: "target@x.test", [field]: value } }));
      }
    }
    expectRefusedCleanly(outcomes);
    expect(outcomes.filter((o) => o.status !== 422)).toEqual([]);
    expect(await fingerprint(f.tenant.id)).toBe(before);
  });

  it("metadata nested thousands of levels deep is refused cleanly", async () => {
    const f = await fixture();
    const before = await fingerprint(f.tenant.id);
    const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    const deepArray = (depth: number) => `{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    for (const deep of [deepObject(64), deepObject(5_000), deepObject(12_000), deepArray(64), deepArray(3_000), deepArray(30_000)]) {
      const depth = deep.length;
      for (const [method, path] of [
        ["POST", "/v1/users"],
        ["PATCH", `/v1/users/${f.user.id}`],
      ] as const) {
        const body = method === "POST" ? `{"email":"deep@x.test","metadata":${deep}}` : `{"metadata":${deep}}`;
        const res = await api(method, path, { ...f.opts, body });
        expect(res.status, `${method} depth ${depth}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} depth ${depth}`).toBeLessThan(500);
      }
    }
    expect(await fingerprint(f.tenant.id)).toBe(before);
    // 64 levels in all (the body is one of them) are fine.
    const ok = await call("PATCH", `/v1/users/${f.user.id}`, { ...f.opts, body: `{"metadata":${deepObject(63)}}` });
    expect(ok.status).toBe(200);
    const tooDeep = await api("PATCH", `/v1/users/${f.user.id}`, { ...f.opts, body: `{"metadata":${deepObject(64)}}` });
    expect((await expectProblem(tooDeep, 422, "validation_failed")).errors![0]!.code).toBe("too_deep");
  });
});

describe("bodies that are not objects", () => {
  it("null, an array, a number or a string as the body is a 4xx problem on every route that takes a body, never a 5xx", async () => {
    const f = await fixture();
    const before = await fingerprint(f.tenant.id);
    const doc = (await call("GET", "/openapi.json")).body as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
    const outcomes: Outcome[] = [];
    for (const [template, ops] of Object.entries(doc.paths)) {
      const path = template.replace(/\{[^}]+\}/g, f.user.id);
      for (const [method, op] of Object.entries(ops)) {
        if (!op.requestBody) continue;
        for (const body of ["null", "[]", "1", '"x"']) {
          outcomes.push(await send(`${method.toUpperCase()} ${template} ${body}`, method.toUpperCase(), path, { ...f.opts, body }));
        }
      }
    }
    expect(outcomes.length).toBeGreaterThan(40);
    expectRefusedCleanly(outcomes);
    // Routes whose bodies carry cross-field rules, which run even on a bad body, answer a plain 422.
    for (const path of ["/v1/auth/token", "/v1/users", "/v1/tenants"]) {
      for (const body of ["null", "[]", "1"]) {
        const problem = await expectProblem(await api("POST", path, { ...f.opts, body }), 422, "validation_failed");
        expect(problem.errors!.map((e) => e.path), `${path} ${body}`).toEqual([""]);
      }
    }
    expect(await fingerprint(f.tenant.id)).toBe(before);
  });
});

describe("limits and pages", () => {
  it("negative, zero, fractional and huge limits are 422; a far page is an empty 200", async () => {
    const f = await fixture();
    const outcomes: Outcome[] = [];
    for (const q of ["limit=-1", "limit=0", "limit=-0", "limit=5001", "limit=1e9", "limit=9999999999", "limit=0x10", "limit=+5", "limit= 5", "limit=5.0", "page=-1", "page=0", "page=1e3", "page_size=-20", "page_size=10000", "page=99999999999"]) {
      outcomes.push(await send(q, "GET", `/v1/users?${q}`, f.opts));
    }
    expectRefusedCleanly(outcomes);
    const far = await call("GET", "/v1/users?page=999999999&page_size=5000", f.opts);
    expect(far.status).toBe(200);
    expect(far.body).toMatchObject({ items: [], total: 2, page: 999_999_999, page_size: 5000 });
  });

  it("an unknown query parameter is ignored", async () => {
    const f = await fixture();
    const res = await call("GET", "/v1/users?limit[]=5&__proto__=1&constructor=x", f.opts);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(2);
  });

  it("a repeated parameter is not a crash", async () => {
    const f = await fixture();
    const res = await api("GET", "/v1/users?limit=1&limit=2&sort=id&sort=-id", f.opts);
    expect(res.status).toBeLessThan(500);
  });
});

describe("forged and foreign cursors", () => {
  const encode = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)));

  it("garbage, tampered and structurally wrong cursors are a 422 invalid_cursor", async () => {
    const f = await fixture();
    const page = await call("GET", "/v1/users?limit=1", f.opts);
    const real = page.body.next_cursor as string;
    const [sort, scope, dir, values] = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(real.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (real.length % 4)) % 4)), (c) => c.charCodeAt(0))));
    const forged = [
      "garbage",
      "!!!!",
      "",
      "%00",
      real.slice(0, -2),
      real + "AAAA",
      encode({ sort, scope, dir, values }),
      encode([sort, scope, dir]),
      encode([sort, scope, "sideways", values]),
      encode([sort, "0000000000", dir, values]),
      encode([sort, scope, dir, [...values, "extra"]]),
      encode([sort, scope, dir, [values[0]]]),
      encode([sort, scope, dir, [{ $gt: "" }, null]]),
      encode([sort, scope, dir, [1e309, 1]]),
      encode([42, scope, dir, values]),
      encode("just a string"),
      base64url(new Uint8Array([0xff, 0xfe, 0x00, 0x01])),
    ];
    const outcomes: Outcome[] = [];
    for (const cursor of forged) {
      if (cursor === "") continue;
      outcomes.push(await send(`cursor ${cursor.slice(0, 20)}`, "GET", `/v1/users?cursor=${encodeURIComponent(cursor)}`, f.opts));
    }
    expectRefusedCleanly(outcomes);
    expect(outcomes.filter((o) => o.code !== "invalid_cursor" && o.code !== "validation_failed")).toEqual([]);
  });

  it("a cursor naming a forbidden sort field is refused, not obeyed", async () => {
    const f = await fixture();
    const page = await call("GET", "/v1/users?limit=1", f.opts);
    const real = page.body.next_cursor as string;
    const decoded = JSON.parse(atob(real.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (real.length % 4)) % 4)));
    for (const sort of ["password_hash", "u.password_hash", "id; DROP TABLE users", "-metadata"]) {
      const res = await send(sort, "GET", `/v1/users?cursor=${encode([sort, decoded[1], decoded[2], decoded[3]])}`, f.opts);
      expectRefusedCleanly([res]);
    }
  });

  it("a cursor with SQL in its values is only a position: a 200 of the caller's own users", async () => {
    const f = await fixture();
    const page = await call("GET", "/v1/users?limit=1&sort=username", f.opts);
    const real = page.body.next_cursor as string;
    const decoded = JSON.parse(atob(real.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (real.length % 4)) % 4)));
    const res = await call("GET", `/v1/users?sort=username&cursor=${encode([decoded[0], decoded[1], decoded[2], ["' OR 1=1 --", "usr_x"]])}`, f.opts);
    expect(res.status).toBe(200);
    for (const u of res.body.items) expect(u.tenant_id).toBe(f.tenant.id);
  });

  it("another tenant's cursor is a 422 invalid_cursor", async () => {
    const a = await fixture();
    const b = await fixture();
    const fromA = (await call("GET", "/v1/users?limit=1", a.opts)).body.next_cursor;
    const res = await send("foreign", "GET", `/v1/users?limit=1&cursor=${fromA}`, b.opts);
    expect(res).toMatchObject({ status: 422, code: "invalid_cursor" });
  });
});
