import { decodeBase64, encodeBase64, MAX_HASH_MEMORY, positiveInt, sameBytes, scryptMemory, type HashFamily } from "./family";
import { scryptKey } from "./scrypt";

/** A Firebase project's password hash parameters (`hash_config.firebase_scrypt`). */
export interface FirebaseScryptConfig {
  signer_key: string;
  salt_separator: string;
  rounds: number;
  mem_cost: number;
}

interface FirebaseScrypt {
  rounds: number;
  memCost: number;
  signerKey: Uint8Array;
  saltSeparator: Uint8Array;
  salt: Uint8Array;
  hash: Uint8Array;
}

const PREFIX = "$firebase-scrypt$";
const PATTERN = /^\$firebase-scrypt\$rounds=(\d+),mem_cost=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * How userplane stores (and exports) a Firebase hash, so it needs no `hash_config` afterwards:
 * `$firebase-scrypt$rounds=R,mem_cost=M$<signer_key>$<salt_separator>$<salt>$<hash>`, each
 * part standard base64 without padding. Null when the inputs are not base64.
 */
export function firebaseHashString(config: FirebaseScryptConfig, hash: string, salt: string): string | null {
  const parts = [config.signer_key, config.salt_separator, salt, hash].map(decodeBase64);
  if (parts.some((p) => p === null)) return null;
  const [signerKey, separator, saltBytes, hashBytes] = parts.map((p) => encodeBase64(p!));
  return `${PREFIX}rounds=${config.rounds},mem_cost=${config.mem_cost}$${signerKey}$${separator}$${saltBytes}$${hashBytes}`;
}

/**
 * Firebase's modified scrypt: the scrypt key of (password, salt ‖ salt_separator) with
 * N = 2^mem_cost, r = rounds, p = 1 is the AES-256-CTR key (zero IV) that encrypts the
 * project's signer key; the ciphertext is the stored hash.
 */
export const firebaseHashes: HashFamily<FirebaseScrypt> = {
  parse(encoded) {
    const m = PATTERN.exec(encoded);
    if (!m) return null;
    const [rounds, memCost] = [positiveInt(m[1]), positiveInt(m[2])];
    const [signerKey, saltSeparator, salt, hash] = [m[3], m[4], m[5], m[6]].map((p) => decodeBase64(p!));
    if (!rounds || !memCost || !signerKey || !saltSeparator || !salt || !hash) return null;
    return { rounds, memCost, signerKey, saltSeparator, salt, hash };
  },
  tooCostly: ({ rounds, memCost }) =>
    scryptMemory(memCost, rounds) > MAX_HASH_MEMORY
      ? `Firebase scrypt needs 128·2^mem_cost·rounds = ${scryptMemory(memCost, rounds)} bytes, above 64 MiB.`
      : null,
  async verify(password, f) {
    const salt = new Uint8Array([...f.salt, ...f.saltSeparator]);
    const derived = await scryptKey(password, salt, { logN: f.memCost, r: f.rounds, p: 1 }, 32);
    const key = await crypto.subtle.importKey("raw", derived, "AES-CTR", false, ["encrypt"]);
    const cipher = await crypto.subtle.encrypt({ name: "AES-CTR", counter: new Uint8Array(16), length: 128 }, key, f.signerKey);
    return sameBytes(new Uint8Array(cipher), f.hash);
  },
};
