import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from "vitest";
import { createApp } from "../src/app";
import { api, call, createTenant, createUser, expectProblem, signIn } from "./helpers";

/**
 * An external identity provider, served locally. This file runs in the "external-idp" vitest
 * project, whose bindings point JWT_JWKS_URL at https://idp.example.test (vitest.config.ts). The
 * worker runs in the same isolate as the tests, so the provider is a stand-in for the network:
 * `fetch` of the JWKS URL answers with the keys this file publishes; any other fetch goes out
 * untouched. Tokens are signed here with jose, exactly as a provider would.
 */
const JWKS_URL = env.JWT_JWKS_URL!;
const ISSUER = env.JWT_ISSUER!;
const AUDIENCE = env.JWT_AUDIENCE!;
const TENANT_CLAIM = env.JWT_TENANT_CLAIM!;

interface ProviderKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function providerKey(alg: "ES256" | "RS256" | "EdDSA", kid: string): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey: privateKey as CryptoKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

const provider = { published: [] as JWK[], fetches: 0 };
let fetchSpy: MockInstance<typeof fetch>;
let current: ProviderKey;

beforeAll(async () => {
  current = await providerKey("ES256", "idp-key-1");
  provider.published = [current.publicJwk];
  const realFetch = globalThis.fetch;
  fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url !== JWKS_URL) return realFetch(input, init);
    provider.fetches++;
    return Response.json({ keys: provider.published }, { headers: { "Cache-Control": "max-age=300" } });
  });
});

afterAll(() => {
  fetchSpy.mockRestore();
});

afterEach(() => {
  vi.useRealTimers();
});

function advanceSeconds(seconds: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + seconds * 1000);
}

interface MintOptions {
  key?: ProviderKey;
  claims?: JWTPayload & Record<string, unknown>;
  omit?: string[];
  header?: Record<string, unknown>;
}

/** A provider token for `sub` in `tenant` (the tenant claim), valid unless told otherwise. */
async function mint(sub: string, tenant: string, opts: MintOptions = {}) {
  const key = opts.key ?? current;
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { sub, [TENANT_CLAIM]: tenant, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...opts.claims };
  for (const name of opts.omit ?? []) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...opts.header }).sign(key.privateKey);
}

async function externalUser(roles: string[] = ["member"]) {
  const t = await createTenant();
  const externalId = `idp|${crypto.randomUUID()}`;
  const user = await createUser(t.tenant.id, { external_id: externalId, email: `ext@${t.tenant.slug}.test`, roles });
  return { ...t, user, externalId };
}

describe("external identity provider tokens", () => {
  it("are accepted: sub is matched to external_id in the tenant the tenant claim names (id or slug)", async () => {
    const t = await externalUser(["admin"]);
    const bySlug = await call("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.slug) });
    expect(bySlug.status).toBe(200);
    expect(bySlug.body.id).toBe(t.user.id);
    const byId = await call("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id) });
    expect(byId.body.id).toBe(t.user.id);
    // The user's roles apply: an admin lists the tenant's users.
    const list = await call("GET", "/v1/users", { token: await mint(t.externalId, t.tenant.id) });
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBe(2);
  });

  it("refuse unknown subjects, subjects of another tenant and inactive users with 401", async () => {
    const t = await externalUser();
    const other = await createTenant();
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint("idp|nobody", t.tenant.id) }), 401, "unauthorized");
    // Unique ignoring case, but matched exactly: a provider's subject differing in case is another subject.
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint(t.externalId.toUpperCase(), t.tenant.id) }), 401, "unauthorized");
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint(t.externalId, other.tenant.id) }), 401, "unauthorized");
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint(t.externalId, "no-such-tenant") }), 401, "unauthorized");
    const off = await api("PATCH", `/v1/users/${t.user.id}`, { token: t.ownerToken, body: { is_active: false } });
    expect(off.status).toBe(200);
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id) }), 401, "unauthorized");
  });

  it("refuse wrong issuer or audience, expired, future and incomplete tokens", async () => {
    const t = await externalUser();
    const now = Math.floor(Date.now() / 1000);
    const bad: MintOptions[] = [
      { claims: { iss: "https://evil.example.test/" } },
      { claims: { aud: "someone-else" } },
      { claims: { exp: now - 120 } },
      { omit: ["exp"] },
      { omit: ["sub"] },
      { omit: [TENANT_CLAIM] },
      { claims: { nbf: now + 300 } },
      { claims: { iat: now + 300 } },
    ];
    for (const opts of bad) {
      const res = await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id, opts) });
      await expectProblem(res, 401, "unauthorized");
    }
    // Within the 60 s of tolerated skew, a slightly early clock is fine.
    expect((await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id, { claims: { iat: now + 30 } }) })).status).toBe(200);
  });

  it("are refused (503 naming the settings) while JWT_ISSUER or JWT_AUDIENCE is unset, which would check neither", async () => {
    const t = await externalUser();
    const token = await mint(t.externalId, t.tenant.id);
    const app = createApp();
    for (const unset of [{ JWT_ISSUER: undefined }, { JWT_AUDIENCE: "" }]) {
      const res = await app.fetch(new Request("http://userplane.test/v1/users/me", { headers: { Authorization: `Bearer ${token}` } }), { ...env, ...unset }, createExecutionContext());
      expect((await expectProblem(res, 503, "service_unavailable")).detail).toContain("JWT_AUDIENCE");
    }
    // The service's own tokens are unaffected.
    const own = await app.fetch(new Request("http://userplane.test/v1/users/me", { headers: { Authorization: `Bearer ${t.ownerToken}` } }), { ...env, JWT_ISSUER: undefined }, createExecutionContext());
    expect(own.status).toBe(200);
  });

  it("refuse keys the provider does not publish, forged signatures and disallowed algorithms", async () => {
    const t = await externalUser();
    const stranger = await providerKey("ES256", "not-published");
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id, { key: stranger }) }), 401, "unauthorized");
    // The published kid, signed by another key.
    const impostor = { ...(await providerKey("ES256", current.kid)) };
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id, { key: impostor }) }), 401, "unauthorized");
    // HS256 with the public key as the secret (the classic confusion attack), and alg "none".
    const hmac = await new SignJWT({ sub: t.externalId, [TENANT_CLAIM]: t.tenant.id, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })
      .setProtectedHeader({ alg: "HS256", kid: current.kid })
      .sign(new TextEncoder().encode(JSON.stringify(current.publicJwk)));
    await expectProblem(await api("GET", "/v1/users/me", { token: hmac }), 401, "unauthorized");
    const unsigned = [
      btoa(JSON.stringify({ alg: "none", kid: current.kid })),
      btoa(JSON.stringify({ sub: t.externalId, [TENANT_CLAIM]: t.tenant.id, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })),
      "",
    ]
      .map((s) => s.replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_"))
      .join(".");
    await expectProblem(await api("GET", "/v1/users/me", { token: unsigned }), 401, "unauthorized");
  });

  it("pick up the provider's key rotation: a new kid triggers a JWKS refetch", async () => {
    const t = await externalUser();
    expect((await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id) })).status).toBe(200);
    const oldKey = current;
    const fetchesBefore = provider.fetches;

    // The provider rotates: a new key (another algorithm, too) is published, the old one withdrawn.
    const next = await providerKey("RS256", "idp-key-2");
    provider.published = [next.publicJwk];
    current = next;
    // jose refetches on an unknown kid once its cooldown (10 s since the last fetch) has passed.
    advanceSeconds(11);
    const fresh = await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id) });
    expect(fresh.status).toBe(200);
    expect(provider.fetches).toBe(fetchesBefore + 1);
    // Tokens of the withdrawn key no longer verify.
    await expectProblem(await api("GET", "/v1/users/me", { token: await mint(t.externalId, t.tenant.id, { key: oldKey }) }), 401, "unauthorized");
  });

  it("live alongside userplane's own tokens, which never go to the provider", async () => {
    const t = await createTenant();
    const fetchesBefore = provider.fetches;
    const own = await signIn(t.tenant.id, { email: t.owner.email }, t.ownerPassword);
    expect(own.status).toBe(200);
    expect((await api("GET", "/v1/users/me", { token: own.body.access_token })).status).toBe(200);
    expect(provider.fetches).toBe(fetchesBefore);
  });

  it("have no session: logout is 403", async () => {
    const t = await externalUser();
    await expectProblem(await api("POST", "/v1/auth/logout", { token: await mint(t.externalId, t.tenant.id) }), 403, "forbidden");
  });
});
