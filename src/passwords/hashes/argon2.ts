import { argon2i, argon2id } from "@noble/hashes/argon2.js";
import { decodeBase64, sameBytes, positiveInt, type HashFamily } from "./family";

/** argon2 memory cap in KiB (64 MiB): the contract's limit, half a Worker's 128 MB. */
export const MAX_ARGON2_MEMORY_KIB = 65536;
/**
 * Passes and lanes are not capped by the contract. CPU grows with m·t (lanes run one after
 * another in JS), so m·t may not pass RFC 9106's second recommendation (m=64 MiB, t=3), about
 * 5 s of CPU in workerd (docs/auth.md); every OWASP setting is below it.
 */
export const MAX_ARGON2_WORK = MAX_ARGON2_MEMORY_KIB * 3;
export const MAX_ARGON2_LANES = 16;

interface Argon2 {
  variant: "argon2id" | "argon2i";
  version: number;
  m: number;
  t: number;
  p: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

const PATTERN = /^\$(argon2id|argon2i)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export const argon2Hashes: HashFamily<Argon2> = {
  parse(encoded) {
    const m = PATTERN.exec(encoded);
    if (!m) return null;
    const version = m[2] === undefined ? 0x10 : Number(m[2]);
    const [mem, t, p] = [positiveInt(m[3]), positiveInt(m[4]), positiveInt(m[5])];
    const salt = decodeBase64(m[6]!);
    const hash = decodeBase64(m[7]!);
    if (![0x10, 0x13].includes(version) || !mem || !t || !p || !salt || !hash) return null;
    if (salt.length < 8 || hash.length < 4 || hash.length > 128 || mem < 8 * p) return null;
    return { variant: m[1] as Argon2["variant"], version, m: mem, t, p, salt, hash };
  },
  tooCostly({ m, t, p }) {
    if (m > MAX_ARGON2_MEMORY_KIB) return `argon2 memory m=${m} KiB is above ${MAX_ARGON2_MEMORY_KIB}.`;
    if (m * t > MAX_ARGON2_WORK) return `argon2 work m·t = ${m * t} is above ${MAX_ARGON2_WORK} (m=65536 with t=3).`;
    if (p > MAX_ARGON2_LANES) return `argon2 lanes p=${p} are above ${MAX_ARGON2_LANES}.`;
    return null;
  },
  async verify(password, { variant, version, m, t, p, salt, hash }) {
    const derive = variant === "argon2id" ? argon2id : argon2i;
    const key = derive(password, salt, { m, t, p, version, dkLen: hash.length });
    return sameBytes(key, hash);
  },
};
