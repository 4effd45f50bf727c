/**
 * Opaque, typed, time-ordered identifiers: `usr_01j…`. The leading 48 bits are milliseconds,
 * so ids created later sort later (a cheap, stable tie-breaker for keyset pagination).
 */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

export type IdPrefix = "ten" | "usr" | "ses" | "key" | "evt" | "req" | "whk" | "whd";

const RANDOM_CHARS = 16;
/**
 * Random bytes drawn a few hundred ids at a time: every request makes at least one id (its
 * request id), and one call into the runtime's CSPRNG per id cost more than the id itself.
 */
const pool = new Uint8Array(RANDOM_CHARS * 256);
let drawn = pool.length;

/** The time part, kept for the millisecond it was made for (Workers' clock moves between I/O). */
let timeMs = Number.NaN;
let timePart = "";

export function newId(prefix: IdPrefix, now = Date.now()): string {
  if (now !== timeMs) {
    timeMs = now;
    timePart = "";
    let t = now;
    for (let i = 0; i < 10; i++) {
      timePart = ALPHABET[t % 32] + timePart;
      t = Math.floor(t / 32);
    }
  }
  if (drawn + RANDOM_CHARS > pool.length) {
    crypto.getRandomValues(pool);
    drawn = 0;
  }
  let tail = "";
  for (let i = drawn; i < drawn + RANDOM_CHARS; i++) tail += ALPHABET[pool[i]! % 32];
  drawn += RANDOM_CHARS;
  return `${prefix}_${timePart}${tail}`;
}

/** The shape every id of a prefix has; used by the path validators. */
export const idPattern = (prefix: IdPrefix) => new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`);
