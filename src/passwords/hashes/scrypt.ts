import { scrypt } from "node:crypto";
import { decodeBase64, MAX_HASH_MEMORY, positiveInt, sameBytes, scryptMemory, type HashFamily } from "./family";

export interface ScryptCost {
  logN: number;
  r: number;
  p: number;
}

/** scrypt lanes are not capped by the contract; CPU grows with p, memory does not. */
export const MAX_SCRYPT_LANES = 16;

/** scrypt through node:crypto (native, far faster than JS); `password` is used as given. */
export function scryptKey(password: string | Uint8Array, salt: Uint8Array, { logN, r, p }: ScryptCost, keyLength: number): Promise<Uint8Array> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    ),
  );
}

/** Why scrypt at this cost is refused, or null (128·N·r ≤ 64 MiB, p ≤ 16). */
export function scryptTooCostly({ logN, r, p }: ScryptCost): string | null {
  if (scryptMemory(logN, r) > MAX_HASH_MEMORY) return `scrypt needs 128·N·r = ${scryptMemory(logN, r)} bytes, above 64 MiB.`;
  if (p > MAX_SCRYPT_LANES) return `scrypt p=${p} is above ${MAX_SCRYPT_LANES}.`;
  return null;
}

interface Scrypt extends ScryptCost {
  salt: Uint8Array;
  hash: Uint8Array;
}

const PATTERN = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/._-]+)\$([A-Za-z0-9+/._-]+)$/;

/**
 * scrypt PHC strings (`$scrypt$ln=…,r=…,p=…$salt$hash`, as passlib writes them; salt and hash in
 * any base64 alphabet). userplane's own hashes have this shape too; src/sign-in/password.ts reads
 * those first (they are NFC-normalised), so this family sees the foreign ones.
 */
export const scryptHashes: HashFamily<Scrypt> = {
  parse(encoded) {
    const m = PATTERN.exec(encoded);
    if (!m) return null;
    const [logN, r, p] = [positiveInt(m[1]), positiveInt(m[2]), positiveInt(m[3])];
    const salt = decodeBase64(m[4]!);
    const hash = decodeBase64(m[5]!);
    if (!logN || logN > 40 || !r || !p || !salt || !hash || hash.length < 16 || hash.length > 128) return null;
    return { logN, r, p, salt, hash };
  },
  tooCostly: scryptTooCostly,
  verify: async (password, s) => sameBytes(await scryptKey(password, s.salt, s, s.hash.length), s.hash),
};
