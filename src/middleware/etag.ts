import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { bodyEtag } from "../lib/etag";

/**
 * Every single object carries an ETag, in 200, 201 and 202 answers (a queued delivery is one).
 * Resources that honour If-Match set a version-based tag themselves; for the rest (shares,
 * sessions, keys, checks…) this derives one from the body, so a client can still tell whether
 * what it holds is current. Lists (`items`) carry none.
 */
export function etags(): MiddlewareHandler<AppEnv> {
  return async function etagMiddleware(c, next) {
    await next();
    const res = c.res;
    if (res.status < 200 || res.status > 202 || res.headers.has("ETag")) return;
    if (!res.headers.get("Content-Type")?.startsWith("application/json")) return;
    const body = await res.clone().text();
    if (!body.startsWith("{") || body.startsWith('{"items":')) return;
    c.res.headers.set("ETag", await bodyEtag(body));
  };
}
