import { describe, expect, it } from "vitest";
import { api, call, createTenant, expectProblem, PLATFORM_KEY } from "./helpers";

const kidOf = (jwt: string) => {
  const header = jwt.split(".")[0]!.replaceAll("-", "+").replaceAll("_", "/");
  return (JSON.parse(atob(header + "=".repeat((4 - (header.length % 4)) % 4))) as { kid: string }).kid;
};

const publishedKids = async () => ((await call("GET", "/.well-known/jwks.json")).body.keys as { kid: string }[]).map((k) => k.kid);

/** Signs in through the API, so the token is signed by whatever key the worker signs with now. */
async function signIn(tenantSlug: string, email: string, password: string): Promise<string> {
  const res = await call("POST", "/v1/auth/token", { body: { tenant: tenantSlug, email, password } });
  if (res.status !== 200) throw new Error(`signIn: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}

describe("POST /v1/signing-keys/rotate", () => {
  it("a platform principal rotates: 200 with the new JWKS (public keys only), holding the old and the new key", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const before = await signIn(tenant.slug, owner.email, ownerPassword);
    const oldKid = kidOf(before);

    const res = await call("POST", "/v1/signing-keys/rotate", { token: PLATFORM_KEY });
    expect(res.status).toBe(200);
    const keys = res.body.keys as Record<string, unknown>[];
    const kids = keys.map((k) => k.kid);
    expect(kids).toContain(oldKid);
    const newKids = kids.filter((k) => k !== oldKid);
    expect(newKids.length).toBeGreaterThanOrEqual(1);
    for (const k of keys) {
      expect(k).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
      expect(k).not.toHaveProperty("d");
    }
    expect(await publishedKids()).toEqual(expect.arrayContaining(kids));

    // Tokens issued before the rotation still verify …
    expect((await api("GET", "/v1/users/me", { token: before })).status).toBe(200);
    // … and new tokens carry the new kid, and verify too.
    const after = await signIn(tenant.slug, owner.email, ownerPassword);
    expect(kidOf(after)).not.toBe(oldKid);
    expect(newKids).toContain(kidOf(after));
    expect((await api("GET", "/v1/users/me", { token: after })).status).toBe(200);
  });

  it("rotating twice keeps every key whose tokens may still be alive", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const first = await signIn(tenant.slug, owner.email, ownerPassword);
    await call("POST", "/v1/signing-keys/rotate", { token: PLATFORM_KEY });
    const second = await signIn(tenant.slug, owner.email, ownerPassword);
    const res = await call("POST", "/v1/signing-keys/rotate", { token: PLATFORM_KEY });
    expect(res.body.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([kidOf(first), kidOf(second)]));
    for (const token of [first, second]) expect((await api("GET", "/v1/users/me", { token })).status).toBe(200);
  });

  it("tenant principals are refused: owners (403), their API keys (403), and no credentials (401)", async () => {
    const { ownerToken } = await createTenant();
    const before = await publishedKids();
    await expectProblem(await api("POST", "/v1/signing-keys/rotate", { token: ownerToken }), 403, "forbidden");
    const key = (await call("POST", "/v1/api-keys", { token: ownerToken, body: { name: "owner", roles: ["owner"] } })).body.key;
    await expectProblem(await api("POST", "/v1/signing-keys/rotate", { token: key }), 403, "forbidden");
    await expectProblem(await api("POST", "/v1/signing-keys/rotate"), 401, "unauthorized");
    expect(await publishedKids()).toEqual(before);
  });

  it("platform keys created through the API may rotate too", async () => {
    const platformKey = (await call("POST", "/v1/api-keys", { token: PLATFORM_KEY, body: { name: "ops", roles: [] } })).body.key;
    expect((await api("POST", "/v1/signing-keys/rotate", { token: platformKey })).status).toBe(200);
  });

  it("only POST is served (405 otherwise)", async () => {
    const res = await api("GET", "/v1/signing-keys/rotate", { token: PLATFORM_KEY });
    await expectProblem(res, 405, "method_not_allowed");
  });
});
