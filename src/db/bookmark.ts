import type { Bindings } from "../env";
import { base64url, timingSafeEqual, utf8 } from "../lib/crypto";
import { validationError } from "../lib/errors";
import { hmac, type _HMAC } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

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

/** An HMAC-SHA256 state (noble's class; `hmac.create` types it through its TRet wrapper). */
type Keyed = _HMAC<ReturnType<typeof sha256.create>>;

/**
 * MACs by key secret, each with the MACs it made most recently. HMAC-SHA256 runs in JS
 * (@noble/hashes), synchronously: a bookmark goes out on every `/v1` answer, and WebCrypto's
 * promise round trip cost more than the hash of forty bytes. Reads of a quiet database hand out
 * the same bookmark again and again, so its MAC is remembered (a bounded FIFO).
 */
const macs = new Map<string, { keyed: Keyed; recent: Map<string, string> }>();
/**
 * Each MAC copies its key's HMAC state into this one object and digests into one buffer, where
 * `clone()` built a new HMAC, two hash states and their buffers for every answer. Safe to share:
 * a MAC is computed synchronously.
 */
let scratch: Keyed | undefined;
const digest = new Uint8Array(32);
const RECENT_MACS_MAX = 256;

/**
 * The MAC key: `BOOKMARK_SECRET`, else derived from `BOOTSTRAP_API_KEY` (so a deployment needs
 * no new secret; rotating it makes outstanding bookmarks a 422, which a client answers by
 * dropping its bookmark).
 */
function macsFor(env: Bindings) {
  const secret = `userplane-bookmark-v1:${env.BOOKMARK_SECRET ?? env.BOOTSTRAP_API_KEY ?? ""}`;
  let entry = macs.get(secret);
  if (!entry) {
    entry = { keyed: hmac.create(sha256, utf8(secret)) as Keyed, recent: new Map() };
    macs.set(secret, entry);
  }
  return entry;
}

function mac(env: Bindings, d1Bookmark: string): string {
  const { keyed, recent } = macsFor(env);
  let tag = recent.get(d1Bookmark);
  if (tag === undefined) {
    // The copy keeps the keyed inner and outer state: one HMAC without re-deriving the key.
    scratch = keyed._cloneInto(scratch);
    scratch.update(utf8(d1Bookmark)).digestInto(digest);
    tag = base64url(digest.subarray(0, 16));
    if (recent.size >= RECENT_MACS_MAX) recent.delete(recent.keys().next().value!);
    recent.set(d1Bookmark, tag);
  }
  return tag;
}

/** The header value for a D1 bookmark. */
export function issueBookmark(env: Bindings, d1Bookmark: string): string {
  return `${d1Bookmark}.${mac(env, d1Bookmark)}`;
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
export function readBookmark(env: Bindings, header: string | undefined): string | null {
  const value = header?.trim();
  if (!value) return null;
  const m = ISSUED.exec(value);
  if (!m || !timingSafeEqual(mac(env, m[1]!), m[2]!)) throw invalidBookmark();
  return m[1]!;
}

/** Whether an error is D1 refusing a bookmark (the 422 then, never a 500). */
export const isBookmarkRefusal = (err: unknown) => /\bbookmark\b/i.test(String((err as Error)?.message ?? err));

export const bookmarkRefused = invalidBookmark;
