/**
 * One family of password hashes userplane can verify: how to read an encoded hash, whether
 * verifying it would cost more than a sign-in may, and how to check a password against it.
 */
export interface HashFamily<P> {
  /** The parsed hash, or null when `encoded` is not one of this family (or is malformed). */
  parse(encoded: string): P | null;
  /** Why verifying this hash would cost more than the caps allow, or null when it is within them. */
  tooCostly(parsed: P): string | null;
  verify(password: string, parsed: P): Promise<boolean>;
}

const ALPHABET = /^[A-Za-z0-9+/._-]*={0,2}$/;

/**
 * Base64 in any alphabet the hash formats use: standard, URL-safe, passlib's "ab64" ('.' for
 * '+'), padded or not. Null when `text` is not base64.
 */
export function decodeBase64(text: string): Uint8Array | null {
  if (!ALPHABET.test(text)) return null;
  const std = text.replace(/=+$/, "").replaceAll("-", "+").replaceAll("_", "/").replaceAll(".", "+");
  if (std.length % 4 === 1) return null;
  try {
    const bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Standard base64 without padding (the PHC string format's own encoding). */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/=+$/, "");
}

/** Constant-time comparison of two derived keys. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/** A positive integer parameter of an encoded hash, or null. */
export function positiveInt(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}

/** Working memory one scrypt run needs: 128·N·r bytes. */
export const scryptMemory = (logN: number, r: number) => 128 * 2 ** logN * r;

/** The most memory an imported hash may make one sign-in use (scrypt, argon2, Firebase). */
export const MAX_HASH_MEMORY = 64 * 1024 * 1024;
