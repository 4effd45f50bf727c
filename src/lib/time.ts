// Workers' clock only moves between I/O, so a request asks for the same instant many times: the
// last one formatted is kept.
let lastMs = Number.NaN;
let lastIso = "";

/** RFC 3339 UTC with milliseconds; the fixed width makes stored timestamps sort as text. */
export function isoNow(now = Date.now()): string {
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

export const isoAfterSeconds = (seconds: number, now = Date.now()) =>
  new Date(now + seconds * 1000).toISOString();
