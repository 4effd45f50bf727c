import type { Bindings } from "../env";
import { base64url, timingSafeEqual } from "../lib/crypto";
import { validationError } from "../lib/errors";

/** The header bookmarks go out and come back in. */
export const BOOKMARK_HEADER = "X-Userplane-Bookmark";

/**
 * A bookmark as userplane hands it out: D1's own bookmark (`<hex>-<hex>-…`, sortable, oldest
 * first) and a MAC over it, `<d1 bookmark>.<22 base64url characters>`. Local D1 accepts any
 * string as a bookmark (and keeps the larger of it and its own), and a forged one naming a state
 * the database never reached would make a replica wait for it: so a bookmark is taken back only
 * with this deployment's MAC. Anything else, garbled or another deployment's, is a 422 before
 * any query runs.
 */
const ISSUED = /^([0-9A-Za-z-]{1,128})\.([0-9A-Za-z_-]{22})$/;

const keys = new Map<string, Promise<CryptoKey>>();

/**
 * The MAC key: `BOOKMARK_SECRET`, else derived from `BOOTSTRAP_API_KEY` (so a deployment needs
 * no new secret; rotating it makes outstanding bookmarks a 422, which a client answers by
 * dropping its bookmark). Imported once per isolate.
 */
function macKey(env: Bindings): Promise<CryptoKey> {
  const secret = `userplane-bookmark-v1:${env.BOOKMARK_SECRET ?? env.BOOTSTRAP_API_KEY ?? ""}`;
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

async function mac(env: Bindings, d1Bookmark: string): Promise<string> {
  const signature = await crypto.subtle.sign("HMAC", await macKey(env), new TextEncoder().encode(d1Bookmark));
  return base64url(new Uint8Array(signature).slice(0, 16));
}

/** The header value for a D1 bookmark. */
export async function issueBookmark(env: Bindings, d1Bookmark: string): Promise<string> {
  return `${d1Bookmark}.${await mac(env, d1Bookmark)}`;
}

const invalidBookmark = () =>
  validationError(
    [{ path: BOOKMARK_HEADER, message: "Send back a bookmark exactly as this service issued it, or none.", code: "invalid_bookmark" }],
    `${BOOKMARK_HEADER} is not a bookmark this service issued.`,
  );

/**
 * The D1 bookmark a request sent back, or null when it sent none (an empty header is none).
 * Throws the 422 for one this deployment did not issue.
 */
export async function readBookmark(env: Bindings, header: string | undefined): Promise<string | null> {
  const value = header?.trim();
  if (!value) return null;
  const m = ISSUED.exec(value);
  if (!m || !timingSafeEqual(await mac(env, m[1]!), m[2]!)) throw invalidBookmark();
  return m[1]!;
}

/** Whether an error is D1 refusing a bookmark (the 422 then, never a 500). */
export const isBookmarkRefusal = (err: unknown) => /\bbookmark\b/i.test(String((err as Error)?.message ?? err));

export const bookmarkRefused = invalidBookmark;
