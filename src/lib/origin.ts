import type { Context } from "hono";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "./errors";

/** Methods a browser form or script can use to change something: the CSRF rule guards these. */
export const UNSAFE_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const parsed = new Map<string, ReadonlySet<string>>();

/**
 * The origins `CORS_ORIGINS` lists (comma-separated), each normalised to `scheme://host[:port]`.
 * An entry that is not an origin (`*`, `null`, a bare host) is dropped: a wildcard never allows
 * anything. Parsed once per value.
 */
export function listedOrigins(env: Pick<Bindings, "CORS_ORIGINS">): ReadonlySet<string> {
  const raw = env.CORS_ORIGINS ?? "";
  let origins = parsed.get(raw);
  if (!origins) {
    origins = new Set(raw.split(",").flatMap((entry) => normalisedOrigin(entry.trim()) ?? []));
    parsed.set(raw, origins);
  }
  return origins;
}

function normalisedOrigin(text: string): string | null {
  if (!/^https?:\/\//i.test(text)) return null;
  try {
    const origin = new URL(text).origin;
    return origin === "null" ? null : origin;
  } catch {
    return null;
  }
}

/** Whether `origin` (an `Origin` header) is one `CORS_ORIGINS` lists. */
export const isListedOrigin = (env: Pick<Bindings, "CORS_ORIGINS">, origin: string): boolean =>
  listedOrigins(env).has(origin.toLowerCase());

/** What the origin rule reads of a request: any Hono context (the API's or the console's). */
interface OriginScope {
  req: { url: string; header(name: string): string | undefined };
  env: Pick<Bindings, "CORS_ORIGINS">;
}

/** The service's own origin, as the request reached it. */
export const ownOrigin = (c: Pick<OriginScope, "req">): string => new URL(c.req.url).origin;

const isTrustedOrigin = (c: OriginScope, origin: string) =>
  origin === ownOrigin(c) || isListedOrigin(c.env, origin);

/**
 * The CSRF rule for requests a browser authenticates by itself (the `token` cookie): the request
 * must come from the service's own origin or one `CORS_ORIGINS` lists.
 *
 * `Origin` decides when present (`null`, sent by sandboxed and privacy-stripped contexts, is not
 * an origin we trust). Browsers send it on every cross-origin request and on same-origin unsafe
 * ones; when it is missing, `Sec-Fetch-Site` (set by the browser, not by scripts) decides, then
 * the origin of `Referer`. A request that carries none of the three is refused: it did not come
 * from a browser that says where it was sent from, and clients other than browsers authenticate
 * with an `Authorization` header, which this rule does not touch.
 */
export function isAllowedOrigin(c: OriginScope): boolean {
  const origin = c.req.header("Origin");
  if (origin !== undefined) return isTrustedOrigin(c, origin.trim());
  const site = c.req.header("Sec-Fetch-Site");
  if (site !== undefined) return site.trim().toLowerCase() === "same-origin";
  const referer = c.req.header("Referer");
  if (referer !== undefined) {
    const from = normalisedOrigin(referer.trim());
    return from !== null && isTrustedOrigin(c, from);
  }
  return false;
}

/** Throws 403 `csrf_failed` for an unsafe request whose origin `isAllowedOrigin` refuses. */
export function requireAllowedOrigin(c: Context<AppEnv>): void {
  if (!UNSAFE_METHODS.has(c.req.method) || isAllowedOrigin(c)) return;
  throw new ApiError(
    "csrf_failed",
    "A cookie-authenticated change must come from this service's own origin or one listed in CORS_ORIGINS.",
  );
}
