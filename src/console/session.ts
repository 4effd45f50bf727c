import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";
import type { ConsoleContext } from "./context";

/** The contract's browser session: the access token in the `token` cookie. */
export const TOKEN_COOKIE = "token";
/** The newest X-Userplane-Bookmark of this browser's writes (read-your-writes after a redirect). */
const BOOKMARK_COOKIE = "console_bookmark";
/** The tenant last signed in to, to fill in the sign-in form next time. */
const TENANT_COOKIE = "console_tenant";
/** Long enough to outlive any replica lag, short enough not to pin reads to the primary. */
const BOOKMARK_MAX_AGE = 300;

type Ctx = ConsoleContext;

/** `Secure` everywhere but plain-http development on localhost and 127.0.0.1. */
export function isLocalHttp(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === "http:" && (hostname === "localhost" || hostname === "127.0.0.1");
}

function cookieOptions(c: Ctx, maxAge?: number, path = "/"): CookieOptions {
  return { path, httpOnly: true, sameSite: "Strict", secure: !isLocalHttp(c.req.url), ...(maxAge ? { maxAge } : {}) };
}

export const sessionToken = (c: Ctx) => getCookie(c, TOKEN_COOKIE) || undefined;

/** Path `/`: the API itself accepts the cookie too (same origin, under the CSRF rule). */
export function startSession(c: Ctx, token: string, expiresIn: number, tenant: string): void {
  setCookie(c, TOKEN_COOKIE, token, cookieOptions(c, expiresIn));
  setCookie(c, TENANT_COOKIE, tenant, cookieOptions(c, 90 * 86_400, "/console"));
}

export function endSession(c: Ctx): void {
  deleteCookie(c, TOKEN_COOKIE, cookieOptions(c));
  deleteCookie(c, BOOKMARK_COOKIE, cookieOptions(c, undefined, "/console"));
}

export const lastTenant = (c: Ctx) => getCookie(c, TENANT_COOKIE) ?? "";

export const savedBookmark = (c: Ctx) => getCookie(c, BOOKMARK_COOKIE) || undefined;

export function saveBookmark(c: Ctx, bookmark: string | undefined): void {
  if (bookmark && bookmark !== savedBookmark(c)) setCookie(c, BOOKMARK_COOKIE, bookmark, cookieOptions(c, BOOKMARK_MAX_AGE, "/console"));
}

/** A `next` target that stays inside the console (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && /^\/console(\/|$|\?)/.test(next) && !next.startsWith("//") ? next : "/console/users";
}
