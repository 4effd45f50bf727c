import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { dbOver } from "../db/client";
import { BOOKMARK_HEADER, issueBookmark, readBookmark } from "../db/bookmark";
import { UNSAFE_METHODS } from "../lib/origin";
import { writeEnded } from "../db/write-fence";

/** Where a request's D1 session starts when it sent no bookmark (documented in the OpenAPI and README). */
export const SESSION_START = {
  /** GET (and HEAD): any replica may answer. */
  read: "first-unconstrained",
  /** POST, PUT, PATCH, DELETE: every one of them writes, so its checks read the primary's latest state. */
  write: "first-primary",
} as const;

/**
 * Every request runs in one D1 session (the Sessions API): reads may be served by a replica,
 * writes always go to the primary. Under `/v1`, a bookmark sent back in `X-Userplane-Bookmark`
 * starts the session at least as new as the state it names (read-your-writes across requests),
 * and the session's latest bookmark goes out on every answer that read or wrote the database.
 * A write starts at the primary whatever bookmark came with it (the primary is newer than any
 * bookmark it issued), so its guards never read a lagging copy.
 */
export function dbSession(): MiddlewareHandler<AppEnv> {
  return async function dbSessionMiddleware(c, next) {
    const api = c.req.path.startsWith("/v1/");
    const given = api ? readBookmark(c.env, c.req.header(BOOKMARK_HEADER)) : null;
    const writes = UNSAFE_METHODS.has(c.req.method);
    const session = c.env.DB.withSession(writes ? SESSION_START.write : (given ?? SESSION_START.read));
    c.set("db", dbOver(session));
    c.set("bookmarkGiven", given !== null);
    c.set("bookmarkNow", () => session.getBookmark());
    if (!writes) await next();
    else {
      try {
        await next();
      } finally {
        writeEnded(); // the isolate's read caches drop what was read before it (src/db/write-fence.ts)
      }
    }
    // A request whose only statement failed (a refused one-trip write) learnt no bookmark: the one
    // it was sent is still a state it saw. A read served from the isolate's cache names the state
    // it was read at.
    const latest = session.getBookmark() ?? c.get("servedBookmark") ?? given;
    if (api && latest) c.res.headers.set(BOOKMARK_HEADER, issueBookmark(c.env, latest));
  };
}
