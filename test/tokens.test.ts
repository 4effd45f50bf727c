import { env } from "cloudflare:workers";
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, type JWTPayload } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { base64url } from "../src/lib/crypto";
import { newId } from "../src/lib/ids";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, tokenFor, userWithToken } from "./helpers";

/**
 * Tokens crafted claim by claim. The signing key is the service's own, read from the key store
 * Durable Object: the refusals below must come from the checks, not from a foreign key.
 */
async function serviceKey() {
  const material = await env.KEYS.get(env.KEYS.idFromName("keys")).material();
  return { kid: material.signing.kid, key: (await importJWK(material.signing.privateJwk, "EdDSA")) as CryptoKey };
}

/** A live session row, so only the claim under test can make a token fail. */
async function session(tenantId: string, userId: string) {
  const id = newId("ses");
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO sessions (id, tenant_id, user_id, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
  )
    .bind(id, tenantId, userId, now, now, new Date(Date.now() + 86_400_000).toISOString())
    .run();
  return id;
}

interface MintOptions {
  claims?: Partial<JWTPayload> & Record<string, unknown>;
  /** Claims to leave out entirely. */
  omit?: string[];
  header?: Record<string, unknown>;
  key?: { kid: string; key: CryptoKey | Uint8Array; alg?: string };
}

async function mint(base: { sub: string; tid: string; sid: string }, opts: MintOptions = {}) {
  const signer: NonNullable<MintOptions["key"]> = opts.key ?? (await serviceKey());
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: base.sub,
    tid: base.tid,
    sid: base.sid,
    iss: "userplane",
    aud: "userplane",
    iat: now,
    exp: now + 900,
    jti: crypto.randomUUID(),
    ...opts.claims,
  };
  for (const k of opts.omit ?? []) delete payload[k];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: signer.alg ?? "EdDSA", kid: signer.kid, typ: "at+jwt", ...opts.header } as never)
    .sign(signer.key);
}

async function fixture() {
  const t = await createTenant();
  const sid = await session(t.tenant.id, t.owner.id);
  return { ...t, base: { sub: t.owner.id, tid: t.tenant.id, sid } };
}

// These tests change sessions and users straight in D1, as another isolate would; no-cache makes
// every read check D1 rather than the isolate's second-long answer (test/self-cache.test.ts).
const me = (token: string) => api("GET", "/v1/users/me", { token, headers: { "Cache-Control": "no-cache" } });

async function expectRefused(token: string) {
  const res = await me(token);
  await expectProblem(res, 401, "unauthorized");
  expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
}

const segment = (o: object) => base64url(new TextEncoder().encode(JSON.stringify(o)));

afterEach(() => {
  vi.useRealTimers();
});

describe("own access tokens", () => {
  it("a well-formed token of a live session is accepted (the crafting helper itself works)", async () => {
    const { base } = await fixture();
    const res = await call("GET", "/v1/users/me", { token: await mint(base) });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(base.sub);
  });

  it("alg none is refused", async () => {
    const { base } = await fixture();
    const { kid } = await serviceKey();
    const now = Math.floor(Date.now() / 1000);
    const payload = { ...base, iss: "userplane", aud: "userplane", iat: now, exp: now + 900 };
    await expectRefused(`${segment({ alg: "none", typ: "at+jwt", kid })}.${segment(payload)}.`);
    await expectRefused(`${segment({ alg: "none", typ: "at+jwt" })}.${segment(payload)}`);
  });

  it("an HMAC (HS256) token is refused, even keyed with the public key", async () => {
    const { base } = await fixture();
    const material = await env.KEYS.get(env.KEYS.idFromName("keys")).material();
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(material.signing.publicJwk));
    await expectRefused(await mint(base, { key: { kid: material.signing.kid, key: publicKeyBytes, alg: "HS256" } }));
    const x = new TextEncoder().encode(String(material.signing.publicJwk.x));
    await expectRefused(await mint(base, { key: { kid: material.signing.kid, key: x, alg: "HS256" } }));
    await expectRefused(await mint(base, { key: { kid: "whatever", key: new Uint8Array(32), alg: "HS512" } }));
  });

  it("a token signed with an unknown kid is refused", async () => {
    const { base } = await fixture();
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    await expectRefused(await mint(base, { key: { kid: "k_unknown", key: privateKey as CryptoKey } }));
  });

  it("a foreign key that claims the service's kid fails the signature check", async () => {
    const { base } = await fixture();
    const { kid } = await serviceKey();
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    await expectRefused(await mint(base, { key: { kid, key: privateKey as CryptoKey } }));
  });

  it("a tampered token (bad signature or edited payload) is refused", async () => {
    const { base, tenant } = await fixture();
    const token = await mint(base);
    const [h, p, s] = token.split(".") as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
    await expectRefused(`${h}.${p}.${flipped}`);
    const forged = segment({ ...JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/"))), tid: tenant.id + "x" });
    await expectRefused(`${h}.${forged}.${s}`);
  });

  it("a wrong iss or aud is refused", async () => {
    const { base } = await fixture();
    await expectRefused(await mint(base, { claims: { iss: "someone-else" } }));
    await expectRefused(await mint(base, { omit: ["iss"] }));
    await expectRefused(await mint(base, { claims: { aud: "another-api" } }));
    await expectRefused(await mint(base, { omit: ["aud"] }));
  });

  it("a missing exp is refused", async () => {
    const { base } = await fixture();
    await expectRefused(await mint(base, { omit: ["exp"] }));
  });

  it("a past exp is refused beyond 60 s of skew, accepted within it", async () => {
    const { base } = await fixture();
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await mint(base, { claims: { exp: now - 61 } }));
    await expectRefused(await mint(base, { claims: { iat: now - 7200, exp: now - 3600 } }));
    expect((await me(await mint(base, { claims: { exp: now - 59 } }))).status).toBe(200);
  });

  it("a token expires with time: at exp + 59 s it still works, at exp + 61 s it is refused", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2030-01-01T00:00:00Z");
    vi.setSystemTime(start);
    const { base } = await fixture();
    const token = await mint(base);
    expect((await me(token)).status).toBe(200);
    vi.setSystemTime(start + (900 + 59) * 1000);
    expect((await me(token)).status).toBe(200);
    vi.setSystemTime(start + (900 + 61) * 1000);
    await expectRefused(token);
  });

  it("nbf in the future beyond 60 s is refused; 59 s of skew is accepted", async () => {
    const { base } = await fixture();
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await mint(base, { claims: { nbf: now + 61 } }));
    await expectRefused(await mint(base, { claims: { nbf: now + 3600 } }));
    expect((await me(await mint(base, { claims: { nbf: now + 59 } }))).status).toBe(200);
  });

  it("a token accepted once is judged again by the clock: nbf beyond the skew after the clock goes back is refused", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.parse("2030-01-01T00:00:00Z");
    vi.setSystemTime(start);
    const { base } = await fixture();
    const now = Math.floor(start / 1000);
    const token = await mint(base, { claims: { nbf: now + 59, iat: now } });
    expect((await me(token)).status).toBe(200);
    vi.setSystemTime(start - 2000);
    await expectRefused(token);
  });

  it("iat in the future beyond 60 s is refused; 59 s of skew is accepted", async () => {
    const { base } = await fixture();
    const now = Math.floor(Date.now() / 1000);
    // `now` is rounded down and the service checks a moment later: iat = now + 61 can be only
    // 60.x s ahead of the service's clock by then, so "beyond 60 s" is tested with 62.
    await expectRefused(await mint(base, { claims: { iat: now + 62 } }));
    await expectRefused(await mint(base, { claims: { iat: now + 86_400, exp: now + 90_000 } }));
    expect((await me(await mint(base, { claims: { iat: now + 59 } }))).status).toBe(200);
  });

  it("a token without sub, tid or sid, or with a wrong typ, is refused", async () => {
    const { base } = await fixture();
    for (const claim of ["sub", "tid", "sid", "iat"]) await expectRefused(await mint(base, { omit: [claim] }));
    await expectRefused(await mint(base, { claims: { tid: 42 } }));
    await expectRefused(await mint(base, { header: { typ: "JWT" } }));
  });

  it("a token naming another tenant than its session's is refused", async () => {
    const a = await fixture();
    const b = await createTenant();
    await expectRefused(await mint({ ...a.base, tid: b.tenant.id }));
    await expectRefused(await mint({ ...a.base, sub: b.owner.id }));
  });

  it("a token whose session was revoked is refused", async () => {
    const { base } = await fixture();
    const token = await mint(base);
    expect((await me(token)).status).toBe(200);
    await env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE id = ?").bind(new Date().toISOString(), base.sid).run();
    await expectRefused(token);
  });

  it("a token whose session expired (or never existed) is refused", async () => {
    const { base } = await fixture();
    const token = await mint(base);
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), base.sid).run();
    await expectRefused(token);
    await expectRefused(await mint({ ...base, sid: newId("ses") }));
  });

  it("a token of a deactivated user is refused", async () => {
    const { tenant } = await createTenant();
    const { user, token } = await userWithToken(tenant.id, { email: "deact@example.test" });
    expect((await me(token)).status).toBe(200);
    const off = await call("PATCH", `/v1/users/${user.id}`, { token: PLATFORM_KEY, tenant: tenant.id, body: { is_active: false } });
    expect(off.status).toBe(200);
    await expectRefused(token);
  });

  it("a token of a deleted user is refused", async () => {
    const { tenant } = await createTenant();
    const { user, token } = await userWithToken(tenant.id, { email: "gone@example.test" });
    expect((await me(token)).status).toBe(200);
    await env.DB.prepare("UPDATE users SET deleted_at = ? WHERE tenant_id = ? AND id = ?")
      .bind(new Date().toISOString(), tenant.id, user.id)
      .run();
    await expectRefused(token);
  });

  it("a refused session is refused on every users route, before anything is read out or written", async () => {
    const { tenant } = await createTenant();
    const target = await createUser(tenant.id, { email: "target@example.test", first_name: "Before" });
    const revoked = await userWithToken(tenant.id, { email: "revoked@example.test", roles: ["admin"] });
    const inactive = await userWithToken(tenant.id, { email: "inactive@example.test", roles: ["admin"] });
    await env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE tenant_id = ? AND user_id = ?").bind(new Date().toISOString(), tenant.id, revoked.user.id).run();
    await env.DB.prepare("UPDATE users SET is_active = 0 WHERE tenant_id = ? AND id = ?").bind(tenant.id, inactive.user.id).run();
    const targetToken = await tokenFor(tenant.id, target.id);
    const targetSession = JSON.parse(atob(targetToken.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))).sid as string;
    const before = await env.DB.prepare("SELECT count(*) AS n, max(version) AS v FROM users WHERE tenant_id = ?").bind(tenant.id).first();
    for (const token of [revoked.token, inactive.token]) {
      for (const [method, path, body, headers] of [
        ["GET", "/v1/users", undefined, {}],
        ["GET", "/v1/users?page=1&page_size=5", undefined, {}],
        ["GET", "/v1/users?search=target", undefined, {}],
        ["GET", `/v1/users/${target.id}`, undefined, {}],
        ["GET", "/v1/users/me", undefined, {}],
        ["PATCH", `/v1/users/${target.id}`, { first_name: "After" }, {}],
        ["PUT", `/v1/users/${target.id}`, { email: "target@example.test", first_name: "After" }, {}],
        ["PATCH", "/v1/users/me", { first_name: "After" }, {}],
        ["POST", "/v1/users", { email: "new@example.test" }, {}],
        ["POST", "/v1/users", { email: "new2@example.test" }, { "Idempotency-Key": "k1" }],
        ["GET", `/v1/users/${target.id}/sessions`, undefined, {}],
        ["DELETE", `/v1/users/${target.id}/sessions/${targetSession}`, undefined, {}],
        ["DELETE", `/v1/users/${target.id}/sessions`, undefined, {}],
      ] as const) {
        const res = await api(method, path, { token, body, headers });
        const text = await res.text();
        expect(res.status, `${method} ${path}: ${text}`).toBe(401);
        expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer\b/);
        expect(text).not.toContain("target@example.test");
      }
    }
    const after = await env.DB.prepare("SELECT count(*) AS n, max(version) AS v FROM users WHERE tenant_id = ?").bind(tenant.id).first();
    expect(after).toEqual(before);
    expect((await me(targetToken)).status, "the target's session was not revoked").toBe(200);
  });

  it("a token of a deleted tenant is refused", async () => {
    const { ownerToken, tenant } = await createTenant();
    await env.DB.prepare("UPDATE tenants SET deleted_at = ? WHERE id = ?").bind(new Date().toISOString(), tenant.id).run();
    await expectRefused(ownerToken);
  });

  it("a token signed before a key rotation stays valid (the retired key is still published)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    // Past the isolate's rate limit on unknown-kid refreshes, which earlier tests may have used.
    vi.setSystemTime(Date.now() + 11_000);
    const { base } = await fixture();
    const token = await mint(base);
    const { kid } = await serviceKey();
    await env.KEYS.get(env.KEYS.idFromName("keys")).rotate();
    const jwks = await call("GET", "/.well-known/jwks.json");
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toContain(kid);
    expect((await me(token)).status).toBe(200);
    // A token signed with the new key is accepted too: an unknown kid refreshes the isolate's copy.
    expect((await me(await mint(base))).status).toBe(200);
  });
});

describe("credentials", () => {
  it("no credentials is a 401 with WWW-Authenticate: Bearer", async () => {
    const res = await me("");
    await expectProblem(res, 401, "unauthorized");
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer\b/);
  });

  it("garbage, a non-Bearer scheme or an unknown API key is a 401 with WWW-Authenticate", async () => {
    for (const authorization of ["Bearer", "Bearer not.a.jwt", "Bearer abc", "Basic dXNlcjpwYXNz", "Bearer up_not_a_key", `Bearer ${PLATFORM_KEY}x`]) {
      const res = await api("GET", "/v1/users/me", { headers: { Authorization: authorization } });
      await expectProblem(res, 401, "unauthorized");
      expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer\b/);
    }
  });

  it("the token cookie authenticates like a bearer token", async () => {
    const { ownerToken, owner } = await createTenant();
    const res = await call("GET", "/v1/users/me", { headers: { Cookie: `theme=dark; token=${ownerToken}` } });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(owner.id);
  });

  it("a bad cookie token is refused like a bad bearer token", async () => {
    const { base } = await fixture();
    const res = await api("GET", "/v1/users/me", { headers: { Cookie: `token=${await mint(base, { claims: { aud: "x" } })}` } });
    await expectProblem(res, 401, "unauthorized");
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer\b/);
  });

  it("the Authorization header wins over the cookie", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const res = await call("GET", "/v1/users/me", { token: a.ownerToken, headers: { Cookie: `token=${b.ownerToken}` } });
    expect(res.body.id).toBe(a.owner.id);
  });
});

describe("platform key and X-Tenant", () => {
  it("names its tenant by id, by slug (any case) or by ?tenant=", async () => {
    const { tenant, owner } = await createTenant();
    const byId = await call("GET", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id });
    const bySlug = await call("GET", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.slug.toUpperCase() });
    const byQuery = await call("GET", `/v1/users?tenant=${tenant.slug}`, { token: PLATFORM_KEY });
    for (const res of [byId, bySlug, byQuery]) {
      expect(res.status).toBe(200);
      expect(res.body.items.map((u: { id: string }) => u.id)).toEqual([owner.id]);
    }
  });

  it("an unknown tenant is a 404, and tenant-scoped routes without a tenant are a 400", async () => {
    await expectProblem(await api("GET", "/v1/users", { token: PLATFORM_KEY, tenant: "no-such-tenant" }), 404, "not_found");
    await expectProblem(await api("GET", "/v1/users", { token: PLATFORM_KEY }), 400, "bad_request");
  });

  it("a deleted tenant cannot be named", async () => {
    const { tenant } = await createTenant();
    await env.DB.prepare("UPDATE tenants SET deleted_at = ? WHERE id = ?").bind(new Date().toISOString(), tenant.id).run();
    await expectProblem(await api("GET", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id }), 404, "not_found");
  });

  it("a tenant principal naming another tenant still only sees its own", async () => {
    const a = await createTenant();
    const b = await createTenant();
    for (const opts of [
      { token: a.ownerToken, tenant: b.tenant.id },
      { token: a.ownerToken, tenant: b.tenant.slug },
    ]) {
      const res = await call("GET", "/v1/users", opts);
      expect(res.status).toBe(200);
      expect(res.body.items.map((u: { id: string }) => u.id)).toEqual([a.owner.id]);
    }
    const byQuery = await call("GET", `/v1/users?tenant=${b.tenant.id}`, { token: a.ownerToken });
    expect(byQuery.body.items.map((u: { id: string }) => u.id)).toEqual([a.owner.id]);
    await expectProblem(await api("GET", `/v1/users/${b.owner.id}`, { token: a.ownerToken, tenant: b.tenant.id }), 404, "not_found");
    const created = await call("POST", "/v1/users", { token: a.ownerToken, tenant: b.tenant.id, body: { email: "x@example.test" } });
    expect(created.status).toBe(201);
    expect(created.body.tenant_id).toBe(a.tenant.id);
  });

  it("a tenant principal cannot manage tenants", async () => {
    const a = await createTenant();
    await expectProblem(await api("GET", "/v1/tenants", { token: a.ownerToken }), 403, "forbidden");
  });

  it("tokenFor tokens from the helper and crafted ones share the key (sanity)", async () => {
    const { tenant, owner } = await createTenant();
    expect((await me(await tokenFor(tenant.id, owner.id))).status).toBe(200);
  });
});

describe("JWKS", () => {
  it("publishes the key a token names", async () => {
    const { tenant, owner } = await createTenant();
    const { kid } = decodeProtectedHeader(await tokenFor(tenant.id, owner.id));
    const jwks = await call("GET", "/.well-known/jwks.json");
    const key = jwks.body.keys.find((k: { kid: string }) => k.kid === kid);
    expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
    expect(key.d).toBeUndefined();
    // A key we generate ourselves is not in the set.
    const { publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const foreign = await exportJWK(publicKey);
    expect(jwks.body.keys.some((k: { x: string }) => k.x === foreign.x)).toBe(false);
  });
});
