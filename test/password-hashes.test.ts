import { describe, expect, it } from "vitest";
import { checkImportedHash, firebaseHashString, recogniseHash } from "../src/passwords/hashes";
import { djangoHash, FIREBASE, phcPbkdf2, RFC7914_SCRYPT, VECTOR_PASSWORD, VECTORS } from "./hash-vectors";

async function verifies(encoded: string, password: string): Promise<boolean> {
  const known = recogniseHash(encoded);
  expect(known, encoded).not.toBeNull();
  expect(known!.tooCostly).toBeNull();
  return known!.verify(password);
}

describe("imported password hash formats", () => {
  it.each(Object.entries(VECTORS))("%s: the published vector verifies the right password and refuses a wrong one", async (_name, encoded) => {
    expect(await verifies(encoded, VECTOR_PASSWORD)).toBe(true);
    expect(await verifies(encoded, "Password")).toBe(false);
  });

  it("scrypt: the RFC 7914 vector (p=16) verifies", async () => {
    expect(await verifies(RFC7914_SCRYPT, "password")).toBe(true);
    expect(await verifies(RFC7914_SCRYPT, "passwore")).toBe(false);
  });

  it("PBKDF2 PHC with i= (SHA-256 and SHA-512) and Django pbkdf2_sha256, including 1,000,000 iterations", async () => {
    for (const encoded of [phcPbkdf2("s3cret pw", "sha256", 1000), phcPbkdf2("s3cret pw", "sha512", 1000), djangoHash("s3cret pw", "seasalt", 1000)]) {
      expect(await verifies(encoded, "s3cret pw")).toBe(true);
      expect(await verifies(encoded, "s3cret pX")).toBe(false);
    }
    expect(await verifies(djangoHash("lètmein", "seasalt", 1_000_000), "lètmein")).toBe(true);
  });

  it("Firebase modified scrypt: the published vector from github.com/firebase/scrypt verifies", async () => {
    const encoded = firebaseHashString(FIREBASE.config, FIREBASE.hash, FIREBASE.salt)!;
    expect(encoded).toBe(
      "$firebase-scrypt$rounds=8,mem_cost=14$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$Bw$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ",
    );
    expect(await verifies(encoded, FIREBASE.password)).toBe(true);
    expect(await verifies(encoded, "user2password")).toBe(false);
  });

  it("refuses parameters beyond the caps as password_hash_too_costly", () => {
    const tooCostly = [
      "$2b$15$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq",
      "$argon2id$v=19$m=65537,t=3,p=1$cmFuZG9tc2FsdGlzaGFyZA$DYojYpnUWSMmTtrkVXyaNWVGxLmGe1n8VJBPDdFkbjU",
      "$argon2id$v=19$m=65536,t=4,p=1$cmFuZG9tc2FsdGlzaGFyZA$DYojYpnUWSMmTtrkVXyaNWVGxLmGe1n8VJBPDdFkbjU",
      "$argon2id$v=19$m=4096,t=49,p=1$cmFuZG9tc2FsdGlzaGFyZA$DYojYpnUWSMmTtrkVXyaNWVGxLmGe1n8VJBPDdFkbjU",
      "$argon2id$v=19$m=4096,t=3,p=17$cmFuZG9tc2FsdGlzaGFyZA$DYojYpnUWSMmTtrkVXyaNWVGxLmGe1n8VJBPDdFkbjU",
      "$scrypt$ln=10,r=8,p=17$cmFuZG9tc2FsdGlzaGFyZA$Rh+NnJNo1I6nRwaNqbDm6kmADswD1+7FTKZ7Ln9D8nQ",
      "$scrypt$ln=17,r=8,p=1$cmFuZG9tc2FsdGlzaGFyZA$Rh+NnJNo1I6nRwaNqbDm6kmADswD1+7FTKZ7Ln9D8nQ",
      "$scrypt$ln=16,r=9,p=1$cmFuZG9tc2FsdGlzaGFyZA$Rh+NnJNo1I6nRwaNqbDm6kmADswD1+7FTKZ7Ln9D8nQ",
      "$pbkdf2-sha256$i=2000001$cmFuZG9tc2FsdGlzaGFyZA$OFvEcLOIPFd/oq8egf10i.qJLI7A8nDjPLnolCWarQY",
      djangoHash("x", "salt", 1).replace("$1$", "$2000001$"),
      firebaseHashString({ ...FIREBASE.config, mem_cost: 17, rounds: 8 }, FIREBASE.hash, FIREBASE.salt)!,
    ];
    for (const encoded of tooCostly) expect(checkImportedHash(encoded), encoded).toMatchObject({ ok: false, code: "password_hash_too_costly" });
    // At the caps exactly: accepted.
    for (const encoded of [
      "$2b$14$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq",
      "$argon2id$v=19$m=65536,t=3,p=1$cmFuZG9tc2FsdGlzaGFyZA$DYojYpnUWSMmTtrkVXyaNWVGxLmGe1n8VJBPDdFkbjU",
      "$argon2id$v=19$m=19456,t=10,p=16$cmFuZG9tc2FsdGlzaGFyZA$DYojYpnUWSMmTtrkVXyaNWVGxLmGe1n8VJBPDdFkbjU",
      VECTORS.scrypt,
      "$pbkdf2-sha256$i=2000000$cmFuZG9tc2FsdGlzaGFyZA$OFvEcLOIPFd/oq8egf10i.qJLI7A8nDjPLnolCWarQY",
    ]) {
      expect(checkImportedHash(encoded), encoded).toEqual({ ok: true });
    }
  });

  it("refuses unknown or malformed formats as unsupported_password_hash", () => {
    for (const encoded of [
      "plaintext-password",
      "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", // md5-crypt
      "$argon2d$v=19$m=4096,t=3,p=1$cmFuZG9tc2FsdGlzaGFyZA$CB0Du96aj3fQVcVSqb0LIA6Z6fpStjzjVkaC3RlpK9A",
      "$2b$12$short",
      "$scrypt$ln=16,r=8,p=1$!!!$abc",
      "pbkdf2_sha1$1000$salt$abc=",
      "$pbkdf2-sha1$12$cmFuZG9tc2FsdGlzaGFyZA$mwUqsMixIYMc/0eN4v1.l3SVDpk",
      "sha1$salt$deadbeef",
    ]) {
      expect(checkImportedHash(encoded), encoded).toMatchObject({ ok: false, code: "unsupported_password_hash" });
    }
  });
});
