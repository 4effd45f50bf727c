/** RFC 3339 UTC with milliseconds; the fixed width makes stored timestamps sort as text. */
export const isoNow = (now = Date.now()) => new Date(now).toISOString();

export const isoAfterSeconds = (seconds: number, now = Date.now()) =>
  new Date(now + seconds * 1000).toISOString();
