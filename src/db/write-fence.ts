/*
 * The write fence of this isolate's read caches (src/users/self-cache.ts). Every request that
 * may write D1 (a POST, PUT, PATCH or DELETE: its D1 session starts at the primary) moves the
 * generation on when it ends, and a cached read is only served while the generation taken as it
 * was sent is current. So whatever was read before a write finished (before it began, or while
 * it ran and perhaps had not committed) is never served after it. The console's forms write
 * through the same app in-process, so they are requests too. Writes made by other isolates are
 * not seen: a cache's own TTL bounds those. The rest of the Worker's work writes nothing a cache
 * reads: the cron sweep and the queue consumer touch webhook tables only, and the tenant
 * coordinator's alarm purges users a request already marked deleted (invisible from then on).
 */

let generation = 0;

/** The current generation, taken when a cacheable read starts. */
export const fenceGeneration = () => generation;

/** Marks the end of a request that may have written (src/middleware/db-session.ts, in a `finally`). */
export function writeEnded(): void {
  generation++;
}
