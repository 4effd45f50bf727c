import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTenant, PLATFORM_KEY, signIn } from "./helpers";
import { djangoHash, FIREBASE, phcPbkdf2, RFC7914_SCRYPT, VECTOR_PASSWORD, VECTORS } from "./hash-vectors";

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });

const storedHash = async (tenantId: string, email: string) =>
  (await env.DB.prepare("SELECT password_hash FROM users WHERE tenant_id = ? AND email = ?").bind(tenantId, email).first<{ password_hash: string }>())!
    .password_hash;

const CASES: [string, string, string][] = [
  ["bcrypt $2a$", VECTORS.bcrypt2a, VECTOR_PASSWORD],
  ["bcrypt $2b$", VECTORS.bcrypt2b, VECTOR_PASSWORD],
  ["bcrypt $2y$", VECTORS.bcrypt2y, VECTOR_PASSWORD],
  ["argon2id", VECTORS.argon2id, VECTOR_PASSWORD],
  ["argon2i", VECTORS.argon2i, VECTOR_PASSWORD],
  ["scrypt PHC (passlib)", VECTORS.scrypt, VECTOR_PASSWORD],
  ["scrypt PHC (RFC 7914)", RFC7914_SCRYPT, "password"],
  ["PBKDF2-SHA256 (passlib)", VECTORS.pbkdf2Sha256, VECTOR_PASSWORD],
  ["PBKDF2-SHA512 (passlib)", VECTORS.pbkdf2Sha512, VECTOR_PASSWORD],
  ["PBKDF2-SHA256 PHC i=", phcPbkdf2("pbkdf2 pw", "sha256", 10_000), "pbkdf2 pw"],
  ["PBKDF2-SHA512 PHC i=", phcPbkdf2("pbkdf2 pw", "sha512", 10_000), "pbkdf2 pw"],
  ["Django pbkdf2_sha256", djangoHash("lètmein", "seasalt", 260_000), "lètmein"],
];

describe("signing in with an imported password hash", () => {
  it.each(CASES)("%s: the old password signs in at once, a wrong one is 401, and the first success re-hashes with userplane's scrypt", async (_name, hash, password) => {
    const { tenant } = await createTenant();
    const imported = await call("POST", "/v1/users/import", { ...asPlatform(tenant.id), body: { users: [{ email: "m@x.test", password_hash: hash }] } });
    expect(imported.body.results[0].status).toBe("created");
    expect(await storedHash(tenant.id, "m@x.test")).toBe(hash);
    expect((await signIn(tenant.slug, { email: "m@x.test" }, `${password}x`)).status).toBe(401);
    expect(await storedHash(tenant.id, "m@x.test")).toBe(hash);
    const ok = await signIn(tenant.slug, { email: "m@x.test" }, password);
    expect(ok.status).toBe(200);
    const rehashed = await storedHash(tenant.id, "m@x.test");
    expect(rehashed).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[\w-]+\$[\w-]+$/);
    expect((await signIn(tenant.slug, { email: "m@x.test" }, password)).status).toBe(200);
    expect(await storedHash(tenant.id, "m@x.test")).toBe(rehashed);
  });

  it("Firebase: the published vector signs in with the request's hash_config, and is stored self-describing", async () => {
    const { tenant } = await createTenant();
    const res = await call("POST", "/v1/users/import", {
      ...asPlatform(tenant.id),
      body: { hash_config: { firebase_scrypt: FIREBASE.config }, users: [{ email: "f@x.test", password_hash: FIREBASE.hash, password_salt: FIREBASE.salt }] },
    });
    expect(res.body.results[0].status).toBe("created");
    expect(await storedHash(tenant.id, "f@x.test")).toMatch(/^\$firebase-scrypt\$rounds=8,mem_cost=14\$/);
    expect((await signIn(tenant.slug, { email: "f@x.test" }, "user2password")).status).toBe(401);
    expect((await signIn(tenant.slug, { email: "f@x.test" }, FIREBASE.password)).status).toBe(200);
    expect(await storedHash(tenant.id, "f@x.test")).toMatch(/^\$scrypt\$/);
  });

  it("Firebase config beyond the caps fails the items that use it with password_hash_too_costly", async () => {
    const { tenant } = await createTenant();
    const res = await call("POST", "/v1/users/import", {
      ...asPlatform(tenant.id),
      body: {
        hash_config: { firebase_scrypt: { ...FIREBASE.config, mem_cost: 17 } },
        users: [{ email: "f@x.test", password_hash: FIREBASE.hash, password_salt: FIREBASE.salt }, { email: "b@x.test", password_hash: VECTORS.bcrypt2b }],
      },
    });
    expect(res.body.results[0]).toMatchObject({ status: "failed", errors: [expect.objectContaining({ path: "password_hash", code: "password_hash_too_costly" })] });
    expect(res.body.results[1].status).toBe("created");
    // Only the cap bounds the settings: far beyond it is the same item failure, not a 422, and
    // many rounds of little memory stay under it.
    for (const [config, status] of [
      [{ mem_cost: 60, rounds: 8 }, "failed"],
      [{ mem_cost: 1, rounds: 65 }, "created"],
    ] as const) {
      const other = await call("POST", "/v1/users/import", {
        ...asPlatform(tenant.id),
        body: {
          hash_config: { firebase_scrypt: { ...FIREBASE.config, ...config } },
          users: [{ email: `f${config.rounds}@x.test`, password_hash: FIREBASE.hash, password_salt: FIREBASE.salt }],
        },
      });
      expect(other.status, JSON.stringify(other.body)).toBe(200);
      expect(other.body.results[0].status).toBe(status);
      if (status === "failed") expect(other.body.results[0].errors[0].code).toBe("password_hash_too_costly");
    }
  });

  it("a hash beyond the caps that reached the table anyway is never verified: the sign-in is a plain 401", async () => {
    const { tenant } = await createTenant();
    await call("POST", "/v1/users/import", { ...asPlatform(tenant.id), body: { users: [{ email: "c@x.test", password_hash: VECTORS.bcrypt2b }] } });
    const tooCostly = VECTORS.bcrypt2b.replace("$12$", "$20$");
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE tenant_id = ? AND email = 'c@x.test'").bind(tooCostly, tenant.id).run();
    const started = Date.now();
    expect((await signIn(tenant.slug, { email: "c@x.test" }, VECTOR_PASSWORD)).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("an imported hash also verifies the current password of POST /v1/users/me/password", async () => {
    const { tenant } = await createTenant();
    await call("POST", "/v1/users/import", { ...asPlatform(tenant.id), body: { users: [{ email: "p@x.test", password_hash: VECTORS.argon2id, password_change_required: true }] } });
    const session = await signIn(tenant.slug, { email: "p@x.test" }, VECTOR_PASSWORD);
    expect(session.body.password_change_required).toBe(true);
    const changed = await call("POST", "/v1/users/me/password", {
      token: session.body.access_token,
      body: { current_password: VECTOR_PASSWORD, new_password: "a brand new one" },
    });
    expect(changed.status).toBe(204);
    expect((await signIn(tenant.slug, { email: "p@x.test" }, "a brand new one")).body.password_change_required).toBe(false);
  });
});
