import type { Context } from "hono";
import type { AppEnv } from "../env";
import { fenceGeneration } from "../db/write-fence";
import type { SelfWithGrants } from "./repo";

/*
 * `GET /v1/users/me` answered from this isolate for up to a second. A client polls its own user
 * with the same token, and the read (session, user, roles) is D1's round trip on every request.
 * An entry holds the row read through the session, so serving it applies the same rule the SQL
 * did, as of at most SELF_CACHE_TTL_MS ago:
 * - any POST, PUT, PATCH or DELETE this isolate handles ends every entry when it ends
 *   (src/db/write-fence.ts): a revoke, a delete or a patch sent here is seen by the next read;
 * - a write handled by another isolate is seen within the TTL, a bound below a replica's lag;
 * - the session's own expiry is checked on every hit;
 * - a request that sends `X-Userplane-Bookmark` or `Cache-Control: no-cache` reads D1.
 * Only rows are cached: a refusal (401) is always read afresh.
 */

export const SELF_CACHE_TTL_MS = 1_000;
const SELF_CACHE_MAX = 5_000;

export interface SelfRead {
  row: SelfWithGrants;
  /** The D1 bookmark the read was served at, sent back on answers served from the entry. */
  bookmark: string | null;
}

interface Entry extends SelfRead {
  readAt: number;
  generation: number;
  sessionExpiresAt: number;
}

const entries = new Map<string, Entry>();

/** The session an access token names, with the tenant and user it was issued for. */
export interface SessionKey {
  tenantId: string;
  userId: string;
  sessionId: string;
}

const keyOf = (s: SessionKey) => `${s.tenantId} ${s.userId} ${s.sessionId}`;

/** Whether the client asked for this read to skip caches (a bookmark to honour, or `no-cache`). */
export function wantsFreshRead(c: Context<AppEnv>): boolean {
  if (c.get("bookmarkGiven")) return true;
  const control = c.req.header("Cache-Control");
  return control !== undefined && /(?:^|[\s,])(?:no-cache|no-store|max-age=0)(?:$|[\s,;=])/i.test(control);
}

/** The cached read of this session, if it is still one to serve at `nowMs`. */
export function cachedSelf(s: SessionKey, nowMs: number): SelfRead | undefined {
  const key = keyOf(s);
  const hit = entries.get(key);
  if (!hit) return undefined;
  if (hit.generation === fenceGeneration() && nowMs - hit.readAt < SELF_CACHE_TTL_MS && nowMs < hit.sessionExpiresAt) return hit;
  entries.delete(key);
  return undefined;
}

/**
 * Remembers a row read at `readAt` under fence generation `generation`, both taken before the
 * read was sent: once a write ends after that, the entry is never served. FIFO when full, as the
 * token cache.
 */
export function rememberSelf(s: SessionKey, read: SelfRead, readAt: number, generation: number): void {
  if (entries.size >= SELF_CACHE_MAX) entries.delete(entries.keys().next().value!);
  entries.set(keyOf(s), { ...read, readAt, generation, sessionExpiresAt: Date.parse(read.row.session_expires_at) });
}
