/**
 * Opaque, typed, time-ordered identifiers: `usr_01j…`. The leading 48 bits are milliseconds,
 * so ids created later sort later (a cheap, stable tie-breaker for keyset pagination).
 */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

export type IdPrefix = "ten" | "usr" | "ses" | "key" | "evt" | "req" | "whk" | "whd";

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let tail = "";
  for (let i = 0; i < 16; i++) tail += ALPHABET[random[i]! % 32];
  return `${prefix}_${time}${tail}`;
}

/** The shape every id of a prefix has; used by the path validators. */
export const idPattern = (prefix: IdPrefix) => new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`);
