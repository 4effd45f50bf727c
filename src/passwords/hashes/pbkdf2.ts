import { pbkdf2 } from "node:crypto";
import { decodeBase64, positiveInt, sameBytes, type HashFamily } from "./family";

/** PBKDF2 iterations cap (PHC and Django): about a second of SHA-512 in workerd. */
export const MAX_PBKDF2_ITERATIONS = 2_000_000;

interface Pbkdf2 {
  digest: "sha256" | "sha512";
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

function derive(password: string, { digest, iterations, salt, hash }: Pbkdf2): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, iterations, hash.length, digest, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key)))),
  );
}

const tooCostly = ({ iterations }: Pbkdf2) =>
  iterations > MAX_PBKDF2_ITERATIONS ? `PBKDF2 iterations ${iterations} are above ${MAX_PBKDF2_ITERATIONS}.` : null;

const verify = async (password: string, parsed: Pbkdf2) => sameBytes(await derive(password, parsed), parsed.hash);

const validLength = (hash: Uint8Array) => hash.length >= 16 && hash.length <= 128;

const PHC = /^\$pbkdf2-(sha256|sha512)\$(?:i=)?(\d+)(?:,l=\d+)?\$([A-Za-z0-9+/._-]+={0,2})\$([A-Za-z0-9+/._-]+={0,2})$/;

/**
 * PBKDF2 PHC strings: `$pbkdf2-sha256$i=…$salt$hash` (PHC) and passlib's `$pbkdf2-sha256$…`
 * with bare rounds and its "ab64" alphabet; salt and hash are base64 of bytes.
 */
export const pbkdf2Hashes: HashFamily<Pbkdf2> = {
  parse(encoded) {
    const m = PHC.exec(encoded);
    if (!m) return null;
    const iterations = positiveInt(m[2]);
    const salt = decodeBase64(m[3]!);
    const hash = decodeBase64(m[4]!);
    if (!iterations || !salt || !hash || !validLength(hash)) return null;
    return { digest: m[1] as Pbkdf2["digest"], iterations, salt, hash };
  },
  tooCostly,
  verify,
};

const DJANGO = /^pbkdf2_sha256\$(\d+)\$([^$]{1,256})\$([A-Za-z0-9+/]+={0,2})$/;

/** Django's `pbkdf2_sha256$iterations$salt$hash`: the salt is text (its UTF-8 bytes), the hash base64. */
export const djangoHashes: HashFamily<Pbkdf2> = {
  parse(encoded) {
    const m = DJANGO.exec(encoded);
    if (!m) return null;
    const iterations = positiveInt(m[1]);
    const hash = decodeBase64(m[3]!);
    if (!iterations || !hash || !validLength(hash)) return null;
    return { digest: "sha256", iterations, salt: new TextEncoder().encode(m[2]!), hash };
  },
  tooCostly,
  verify,
};
