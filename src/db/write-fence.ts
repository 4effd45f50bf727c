import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { UNSAFE_METHODS } from "../lib/origin";

/*
 * The write fence of this isolate's read caches (src/users/self-cache.ts). Every request that
 * may write D1 (a POST, PUT, PATCH or DELETE) moves the generation on when it ends, and a cached
 * read is only served while the generation taken as it was sent is current. So whatever was read before a write finished (before it began, or while
 * it ran and perhaps had not committed) is never served after it. Writes made by other isolates
 * are not seen: a cache's own TTL bounds those. The rest of the Worker's work writes nothing a
 * cache reads: the cron sweep and the queue consumer touch webhook tables only, and the tenant
 * coordinator's alarm purges users a request already marked deleted (invisible from that request on).
 */

let generation = 0;

/** The current generation, taken when a cacheable read starts. */
export const fenceGeneration = () => generation;

/** Fences every request whose method may write: nothing read before it ends and cached is served after it. */
export function writeFence(): MiddlewareHandler<AppEnv> {
  return async function writeFenceMiddleware(c, next) {
    if (!UNSAFE_METHODS.has(c.req.method)) return next();
    try {
      await next();
    } finally {
      generation++;
    }
  };
}
