import { timingSafeEqual } from "node:crypto";
import type { Bindings } from "../env";
import { base64url, fromBase64url } from "../lib/crypto";
import { recogniseHash, scryptKey } from "../passwords/hashes";

/**
 * Password hashing with scrypt, encoded PHC-style (`$scrypt$ln=15,r=8,p=3$salt$hash`) so the
 * parameters travel with each hash and can be raised later: a hash made with weaker parameters
 * than the configured ones is replaced at the next successful sign-in.
 *
 * Default: N=2^15, r=8, p=3 — one of the OWASP Password Storage Cheat Sheet's equivalent scrypt
 * settings, chosen because its 32 MiB working set fits a Worker's 128 MB (the cheat sheet's first
 * choice, N=2^17, needs 128 MiB on its own).
 */
export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { logN: 15, r: 8, p: 3 };
const KEY_LENGTH = 32;
/** Counts scrypt runs in this isolate: lets tests prove that a refusal path still hashes. */
export const hashStats = { derivations: 0 };
const SALT_BYTES = 16;

/** `PASSWORD_SCRYPT_PARAMS` is `N,r,p` (N a power of two). */
export function configuredParams(env: Pick<Bindings, "PASSWORD_SCRYPT_PARAMS">): ScryptParams {
  const raw = env.PASSWORD_SCRYPT_PARAMS;
  if (!raw) return DEFAULT_SCRYPT;
  const [n, r, p] = raw.split(",").map(Number);
  if (!n || !r || !p || !Number.isInteger(Math.log2(n))) throw new Error("PASSWORD_SCRYPT_PARAMS must be N,r,p");
  return { logN: Math.log2(n), r, p };
}

function derive(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  hashStats.derivations++;
  return scryptKey(password.normalize("NFC"), salt, params, KEY_LENGTH);
}

export async function hashPassword(password: string, params: ScryptParams): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await derive(password, salt, params);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${base64url(salt)}$${base64url(key)}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Uint8Array;
  key: Uint8Array;
}

function parseHash(encoded: string): ParsedHash | null {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([\w-]+)\$([\w-]+)$/.exec(encoded);
  if (!m) return null;
  const key = fromBase64url(m[5]!);
  // Another length is a scrypt hash made elsewhere (read by src/passwords/hashes).
  if (key.byteLength !== KEY_LENGTH) return null;
  return { params: { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }, salt: fromBase64url(m[4]!), key };
}

/** A fixed hash to verify against when the user is unknown, so both paths cost one scrypt. */
const DUMMY_SALT = new Uint8Array(SALT_BYTES);

export interface VerifyResult {
  ok: boolean;
  /** The stored hash uses weaker parameters than configured: store a fresh one. */
  needsRehash: boolean;
}

/**
 * Checks a password against a stored hash in constant time. An imported hash (bcrypt, argon2,
 * PBKDF2, Firebase…, see src/passwords/hashes) is verified in its own format and always asks for
 * a rehash, so the first successful sign-in replaces it with userplane's scrypt. With no stored
 * hash (unknown user, no password) it still runs one scrypt at the configured cost and answers "no".
 */
export async function verifyPassword(
  password: string,
  stored: string | null | undefined,
  configured: ScryptParams,
): Promise<VerifyResult> {
  const parsed = stored ? parseHash(stored) : null;
  const imported = !parsed && stored ? recogniseHash(stored) : null;
  // Caps are checked at import; checked again here for hashes that reached the table otherwise.
  if (imported && imported.tooCostly === null) return { ok: await imported.verify(password), needsRehash: true };
  if (!parsed) {
    await derive(password, DUMMY_SALT, configured);
    return { ok: false, needsRehash: false };
  }
  const key = await derive(password, parsed.salt, parsed.params);
  const ok = key.byteLength === parsed.key.byteLength && timingSafeEqual(key, parsed.key);
  const p = parsed.params;
  const needsRehash = p.logN < configured.logN || p.r < configured.r || p.p < configured.p;
  return { ok, needsRehash };
}

