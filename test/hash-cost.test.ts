import { env } from "cloudflare:workers";
import bcrypt from "bcryptjs";
import { argon2id } from "@noble/hashes/argon2.js";
import { describe, expect, it } from "vitest";
import { recogniseHash } from "../src/passwords/hashes";
import { encodeBase64 } from "../src/passwords/hashes/family";
import { scryptKey } from "../src/passwords/hashes";
import { pbkdf2Sync } from "node:crypto";

/*
 * What one sign-in costs in workerd for each imported format, at common settings and at the caps.
 * Slow by nature (seconds), so it runs only when asked: `npm run measure:hashes` (the figures go
 * to docs/auth.md). Each case asserts the verification stays inside a Worker's CPU budget.
 */
const SALT = new TextEncoder().encode("measure-salt-16b");

const argon2Hash = (m: number, t: number) =>
  `$argon2id$v=19$m=${m},t=${t},p=1$${encodeBase64(SALT)}$${encodeBase64(argon2id("pw", SALT, { m, t, p: 1, dkLen: 32 }))}`;

const pbkdf2Hash = (digest: "sha256" | "sha512", i: number) =>
  `$pbkdf2-${digest}$i=${i}$${encodeBase64(SALT)}$${encodeBase64(new Uint8Array(pbkdf2Sync("pw", SALT, i, 32, digest)))}`;

const scryptHash = async (logN: number, r: number) =>
  `$scrypt$ln=${logN},r=${r},p=1$${encodeBase64(SALT)}$${encodeBase64(await scryptKey("pw", SALT, { logN, r, p: 1 }, 64))}`;

async function timeVerify(encoded: string, runs = 3): Promise<number> {
  const known = recogniseHash(encoded)!;
  expect(known.tooCostly).toBeNull();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Date.now() advances in workerd's test runtime around awaited I/O; performance.now() does not.
    const started = Date.now();
    expect(await known.verify("pw")).toBe(true);
    times.push(Date.now() - started);
  }
  return Math.min(...times);
}

describe.runIf((env as unknown as Record<string, string>).MEASURE_HASH_COST)("imported hash verification cost in workerd", () => {
  const cases: [string, () => string | Promise<string>, number][] = [
    ["bcrypt cost 10", () => bcrypt.hashSync("pw", 10), 2_000],
    ["bcrypt cost 12", () => bcrypt.hashSync("pw", 12), 5_000],
    ["bcrypt cost 14 (cap)", () => bcrypt.hashSync("pw", 14), 20_000],
    ["argon2id m=19456,t=2 (OWASP)", () => argon2Hash(19456, 2), 5_000],
    ["argon2id m=65536,t=3 (RFC 9106 second choice; the cap)", () => argon2Hash(65536, 3), 20_000],
    ["PBKDF2-SHA256 600,000 (OWASP)", () => pbkdf2Hash("sha256", 600_000), 5_000],
    ["PBKDF2-SHA512 2,000,000 (cap)", () => pbkdf2Hash("sha512", 2_000_000), 10_000],
    ["scrypt N=2^16,r=8 (64 MiB, the memory cap)", () => scryptHash(16, 8), 5_000],
  ];
  it.each(cases)("%s", async (name, make, budgetMs) => {
    const ms = await timeVerify(await make());
    console.log(`hash-cost: ${name}: ${ms} ms`);
    expect(ms).toBeLessThan(budgetMs);
  }, 300_000);
});
