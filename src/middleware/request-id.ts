import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { newId } from "../lib/ids";

/** A caller's id is kept only when it is short and plain enough to log and echo safely. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@\/+=-]{1,128}$/;

/** Every response carries `X-Request-Id`: the caller's when sane, otherwise a new one. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const given = c.req.header("X-Request-Id");
    const id = given && SANE_REQUEST_ID.test(given) ? given : newId("req");
    c.set("requestId", id);
    await next();
    c.res.headers.set("X-Request-Id", id);
  };
}
