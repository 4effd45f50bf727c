// userplane/client against the real worker (its own fetch, as a service binding hands it over).
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createUserplaneClient, retryDelay, UserplaneError } from "../src/client";
import { OPENAPI_SHA256 } from "../src/client/schema";
import { api, createTenant, createUser, PLATFORM_KEY, userWithToken } from "./helpers";

/** A fetch that goes to the worker and remembers what was sent and answered. */
function recordingFetch() {
  const sent: { method: string; path: string; headers: Headers; status: number }[] = [];
  const fetch = async (request: Request) => {
    const response = await exports.default.fetch(request);
    sent.push({ method: request.method, path: new URL(request.url).pathname, headers: request.headers, status: response.status });
    return response;
  };
  return { sent, fetch };
}

/** `count` users `bulk-<n>@…` written in one statement (a fixture: the API is not what is tested). */
async function seedUsers(tenantId: string, count: number) {
  const now = new Date().toISOString();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO users (id, tenant_id, email, created_at, updated_at)
     SELECT 'usr_bulk' || printf('%05d', i) || lower(hex(randomblob(5))), ?, 'bulk-' || i || '@x.test', ?, ? FROM n`,
  )
    .bind(count, tenantId, now, now)
    .run();
}

describe("userplane/client", () => {
  it("sets the credential (and X-Tenant for a platform key); works over a service binding", async () => {
    const { tenant, owner, ownerToken } = await createTenant();
    const client = createUserplaneClient({ binding: exports.default, credential: ownerToken });
    expect((await client.users.me()).data).toMatchObject({ id: owner.id, tenant_id: tenant.id });
    const platform = createUserplaneClient({ binding: exports.default, credential: () => PLATFORM_KEY, tenant: tenant.slug });
    expect((await platform.users.get(owner.id)).data.id).toBe(owner.id);
    const anonymous = createUserplaneClient({ baseUrl: "https://userplane.test", fetch: (r) => exports.default.fetch(r) });
    const refused = await anonymous.users.me().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserplaneError);
    expect(refused).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("iterates a cursor list: 2,500 users page after page, filters kept", async () => {
    const { tenant, ownerToken } = await createTenant();
    await seedUsers(tenant.id, 2500);
    const { sent, fetch } = recordingFetch();
    const client = createUserplaneClient({ fetch, credential: ownerToken });
    const ids = new Set<string>();
    for await (const user of client.users.list({ search: "bulk-", limit: "1000" })) {
      expect(user.email).toMatch(/^bulk-\d+@x\.test$/);
      ids.add(user.id);
    }
    expect(ids.size).toBe(2500);
    expect(sent.map((s) => s.status)).toEqual([200, 200, 200]);
    let all = 0;
    for await (const _ of client.users.list({ limit: "5000" })) all++;
    expect(all).toBe(2501); // and the owner
  });

  it("sends an Idempotency-Key on creating POSTs (one per call, none elsewhere); a retry with it replays", async () => {
    const { tenant, ownerToken } = await createTenant();
    const { sent, fetch } = recordingFetch();
    const client = createUserplaneClient({ fetch, credential: ownerToken });
    await client.users.create({ email: "a@x.test" });
    await client.users.create({ email: "b@x.test" });
    await client.api.POST("/v1/auth/token", { body: { tenant: tenant.slug, email: "a@x.test", password: "wrong-password" } });
    const keys = sent.map((s) => s.headers.get("Idempotency-Key"));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[2]).toBeNull();

    const first = await client.users.create({ email: "c@x.test" }, { idempotencyKey: "create-c" });
    const replay = await client.users.create({ email: "c@x.test" }, { idempotencyKey: "create-c" });
    expect(replay.data.id).toBe(first.data.id);
    let named = 0;
    for await (const _ of client.users.list({ email: "c@x.test" })) named++;
    expect(named).toBe(1);
    const reused = await client.users.create({ email: "d@x.test" }, { idempotencyKey: "create-c" }).catch((e: unknown) => e);
    expect(reused).toMatchObject({ status: 422, code: "idempotency_key_reused" });
  });

  it("sends If-Match when given an ETag: a stale one is a 412 and changes nothing", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "e@x.test" });
    const client = createUserplaneClient({ binding: exports.default, credential: ownerToken });
    const read = await client.users.get(user.id);
    expect(read.etag).toBeTruthy();
    const updated = await client.users.update(user.id, { first_name: "Ada" }, { ifMatch: read.etag });
    expect(updated.data.first_name).toBe("Ada");
    expect(updated.etag).not.toBe(read.etag);
    const stale = await client.users.update(user.id, { first_name: "Grace" }, { ifMatch: read.etag }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 412, code: "precondition_failed" });
    expect((await client.users.get(user.id)).data.first_name).toBe("Ada");
    const staleDelete = await client.users.delete(user.id, { ifMatch: read.etag }).catch((e: unknown) => e);
    expect(staleDelete).toMatchObject({ status: 412 });
    await client.users.delete(user.id, { ifMatch: updated.etag });
    expect((await api("GET", `/v1/users/${user.id}`, { token: ownerToken })).status).toBe(404);
  });

  it("permissions.check: true when held, false on 403", async () => {
    const { tenant, ownerToken } = await createTenant();
    const member = await userWithToken(tenant.id, { email: "m@x.test" });
    expect(await createUserplaneClient({ binding: exports.default, credential: ownerToken }).permissions.check("tasks:admin")).toBe(true);
    expect(await createUserplaneClient({ binding: exports.default, credential: member.token }).permissions.check("tasks:admin")).toBe(false);
  });
});

describe("userplane/client retries", () => {
  /** A tenant whose owner account is locked out of sign-in (LOGIN_LOCKOUT_SECONDS is 1 here). */
  async function lockedOut() {
    const { tenant, owner, ownerPassword } = await createTenant();
    for (let i = 0; i < 5; i++) {
      await api("POST", "/v1/auth/token", { body: { tenant: tenant.slug, email: owner.email, password: "wrong-password" } });
    }
    const locked = await api("POST", "/v1/auth/token", { body: { tenant: tenant.slug, email: owner.email, password: ownerPassword } });
    expect(locked.status).toBe(429);
    return { body: { tenant: tenant.slug, email: owner.email, password: ownerPassword } };
  }

  it("retries a real 429 after its Retry-After, then succeeds", async () => {
    const { body } = await lockedOut();
    const { sent, fetch } = recordingFetch();
    const client = createUserplaneClient({ fetch });
    const started = Date.now();
    const signedIn = await client.api.POST("/v1/auth/token", { body });
    expect(signedIn.response.status).toBe(200);
    expect(signedIn.data?.access_token).toBeTruthy();
    expect(sent.map((s) => s.status)[0]).toBe(429);
    expect(sent.at(-1)!.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("is bounded: no retries left, or a wait beyond the budget, gives the 429 back at once", async () => {
    const { body } = await lockedOut();
    for (const retry of [{ retries: 0 }, { maxWaitMs: 100 }]) {
      const { sent, fetch } = recordingFetch();
      const client = createUserplaneClient({ fetch, retry });
      const started = Date.now();
      const answer = await client.api.POST("/v1/auth/token", { body });
      expect(answer.response.status).toBe(429);
      expect(answer.response.headers.get("Retry-After")).toMatch(/^\d+$/);
      expect(sent).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(900);
    }
  });

  it("retries 503 too (Retry-After as an HTTP date), replaying the same request and Idempotency-Key", async () => {
    const { ownerToken } = await createTenant();
    const seen: { key: string | null; body: string }[] = [];
    let unavailable = 1;
    const fetch = async (request: Request) => {
      seen.push({ key: request.headers.get("Idempotency-Key"), body: await request.clone().text() });
      if (unavailable-- > 0) {
        return new Response("busy", { status: 503, headers: { "Retry-After": new Date(Date.now() + 50).toUTCString() } });
      }
      return exports.default.fetch(request);
    };
    const client = createUserplaneClient({ fetch, credential: ownerToken });
    const created = await client.users.create({ email: "r@x.test" });
    expect(created.data.email).toBe("r@x.test");
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]!.key).toBeTruthy();
  });

  it("reads Retry-After as seconds or a date, else the fallback", () => {
    const at = (value?: string) => new Response(null, { status: 429, headers: value ? { "Retry-After": value } : {} });
    expect(retryDelay(at("2"), 7)).toBe(2000);
    expect(retryDelay(at(new Date(10_000).toUTCString()), 7, 4_000)).toBe(6000);
    expect(retryDelay(at("soon"), 7)).toBe(7);
    expect(retryDelay(at(), 7)).toBe(7);
  });
});

describe("src/client/schema.ts", () => {
  it("was generated from the live /openapi.json (else: npm run client:generate)", async () => {
    const text = await (await api("GET", "/openapi.json")).text();
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(hex, "src/client/schema.ts is stale: run `npm run client:generate`").toBe(OPENAPI_SHA256);
  });
});
