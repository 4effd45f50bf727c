import { argon2Hashes } from "./argon2";
import { bcryptHashes } from "./bcrypt";
import type { HashFamily } from "./family";
import { firebaseHashes } from "./firebase";
import { djangoHashes, pbkdf2Hashes } from "./pbkdf2";
import { scryptHashes } from "./scrypt";

/**
 * Password hashes made elsewhere that userplane verifies at sign-in (and replaces with its own
 * scrypt at the first success). Each is recognised by its shape; see docs/auth.md.
 */
const FAMILIES: HashFamily<unknown>[] = [
  bcryptHashes,
  argon2Hashes,
  scryptHashes,
  pbkdf2Hashes,
  djangoHashes,
  firebaseHashes,
] as HashFamily<unknown>[];

export interface RecognisedHash {
  /** Why a sign-in may not verify it, or null. */
  tooCostly: string | null;
  verify(password: string): Promise<boolean>;
}

/** The hash as one of the known families, or null when no family reads it. */
export function recogniseHash(encoded: string): RecognisedHash | null {
  for (const family of FAMILIES) {
    const parsed = family.parse(encoded);
    if (parsed !== null) return { tooCostly: family.tooCostly(parsed), verify: (password) => family.verify(password, parsed) };
  }
  return null;
}

export type HashCheck =
  | { ok: true }
  | { ok: false; code: "unsupported_password_hash" | "password_hash_too_costly"; message: string };

/** Whether an imported hash may be stored: a known format within the caps. */
export function checkImportedHash(encoded: string): HashCheck {
  const known = recogniseHash(encoded);
  if (!known) {
    return {
      ok: false,
      code: "unsupported_password_hash",
      message: "Not a password hash format userplane verifies (bcrypt, argon2id/argon2i, scrypt, PBKDF2, Django, Firebase, userplane).",
    };
  }
  if (known.tooCostly) return { ok: false, code: "password_hash_too_costly", message: known.tooCostly };
  return { ok: true };
}

export { firebaseHashString, type FirebaseScryptConfig } from "./firebase";
export { scryptKey } from "./scrypt";
