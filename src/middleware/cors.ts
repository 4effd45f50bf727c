import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { isListedOrigin } from "../lib/origin";

/** The contract's lists, exactly: what a browser app may send and read. */
export const CORS_ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE";
export const CORS_ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, Idempotency-Key, X-Tenant, X-Userplane-Bookmark, X-Request-Id";
export const CORS_EXPOSED_HEADERS = "ETag, Link, Location, Retry-After, X-Request-Id, X-Userplane-Bookmark";
const PREFLIGHT_MAX_AGE_SECONDS = "600";

/**
 * CORS for the origins `CORS_ORIGINS` lists, and for them only: preflights get 204 with the
 * allowed methods and headers; every answer (errors included) names the request's origin. Never
 * `*`, never `Access-Control-Allow-Credentials`: cross-origin apps call with bearer tokens, and
 * the cookie is for the console on the service's own origin. Other origins get no CORS headers
 * (their preflight is a bare 204 the browser refuses). `Vary: Origin` is on every answer, so a
 * cache never hands one origin's answer to another.
 */
export function cors(): MiddlewareHandler<AppEnv> {
  return async function corsMiddleware(c, next) {
    const origin = c.req.header("Origin");
    const listed = origin !== undefined && isListedOrigin(c.env, origin);
    if (c.req.method === "OPTIONS" && origin !== undefined && c.req.header("Access-Control-Request-Method") !== undefined) {
      const headers = new Headers({ Vary: "Origin" });
      if (listed) {
        headers.set("Access-Control-Allow-Origin", origin);
        headers.set("Access-Control-Allow-Methods", CORS_ALLOWED_METHODS);
        headers.set("Access-Control-Allow-Headers", CORS_ALLOWED_HEADERS);
        headers.set("Access-Control-Max-Age", PREFLIGHT_MAX_AGE_SECONDS);
      }
      return new Response(null, { status: 204, headers });
    }
    await next();
    const vary = c.res.headers.get("Vary");
    if (!vary || !/(^|,)\s*origin\s*(,|$)/i.test(vary)) c.res.headers.append("Vary", "Origin");
    if (listed) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS);
    }
  };
}
