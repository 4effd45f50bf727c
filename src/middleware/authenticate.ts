import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import type { Principal } from "../auth/principal";
import {
  findApiKeyByHash,
  findExternalPrincipal,
  findTenantRef,
  sessionPrincipalStatement,
  toPrincipalRow,
  type RoleGrant,
  type UserPrincipalRow,
} from "../auth/repo";
import { OWN_ISSUER, tokenIssuer, verifyAccessToken, verifyExternalToken } from "../auth/tokens";
import { sha256Hex, timingSafeEqual } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { isoNow } from "../lib/time";
import { defersSessionCheck } from "../auth/deferred";

/** The one route a caller with a temporary password may use. */
export const PASSWORD_CHANGE_ROUTE = { method: "POST", path: "/v1/users/me/password" } as const;

export const API_KEY_PREFIX = "up_";

const unauthorized = (detail: string) => new ApiError("unauthorized", detail);

/**
 * Resolves the caller into exactly one principal (bearer JWT, bearer API key, then the `token`
 * cookie) or answers 401. Platform principals pick their tenant with `X-Tenant` / `?tenant=`;
 * everyone else is pinned to their own tenant whatever they name.
 */
export interface AuthenticateOptions {
  /** Requests that need no principal: public routes, and paths no route serves (→ 404/405). */
  skip: (c: Context<AppEnv>) => boolean;
}

export function authenticate({ skip }: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  if (typeof skip !== "function") throw new Error("authenticate: skip must be a function");
  return async function authenticateMiddleware(c, next) {
    if (skip(c)) return next();
    const principal = await resolvePrincipal(c);
    if (principal) {
      admit(c, principal);
      c.set("principal", principal);
      c.set("caller", { tenantId: principal.tenantId ?? "", userId: principal.userId });
    }
    await next();
  };
}

/** A temporary password opens one route only. */
function admit(c: Context<AppEnv>, principal: Principal): void {
  if (principal.passwordChangeRequired && !isPasswordChange(c)) throw passwordChangeRequired();
}

export const passwordChangeRequired = () =>
  new ApiError("password_change_required", "Signed in with a temporary password: change it with POST /v1/users/me/password first.");

function isPasswordChange(c: Context<AppEnv>): boolean {
  return c.req.method === PASSWORD_CHANGE_ROUTE.method && c.req.path === PASSWORD_CHANGE_ROUTE.path;
}

/** The principal, or null when its session check was left for the handler's batch. */
async function resolvePrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const authorization = c.req.header("Authorization");
  if (authorization !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthorized("Use Authorization: Bearer <token>.");
    const credential = m[1]!;
    return credential.startsWith(API_KEY_PREFIX) ? apiKeyPrincipal(c, credential) : jwtPrincipal(c, credential);
  }
  const cookie = getCookie(c, "token");
  if (cookie) return jwtPrincipal(c, cookie);
  throw unauthorized("Authentication required.");
}

export const sessionEnded = () => unauthorized("The session has ended or the user is no longer active.");

function userPrincipal(row: UserPrincipalRow, sessionId: string | null): Principal {
  return {
    kind: "user",
    tenantId: row.tenantId,
    userId: row.userId,
    sessionId,
    keyId: null,
    ...rolesAndPermissions(row.roles),
    passwordChangeRequired: row.passwordChangeRequired,
  };
}

async function jwtPrincipal(c: Context<AppEnv>, token: string): Promise<Principal | null> {
  const env = c.env;
  // Without an external provider every JWT must be one of ours: no need to read `iss` first.
  if (env.JWT_JWKS_URL && tokenIssuer(token) !== OWN_ISSUER) {
    const identity = await verifyExternalToken(env, token);
    const row = await findExternalPrincipal(c.var.db, identity.tenant, identity.subject);
    if (!row) throw sessionEnded();
    return userPrincipal(row, null);
  }
  const claims = await verifyAccessToken(env, token);
  const checkedAt = isoNow();
  const statement = sessionPrincipalStatement(c.var.db, claims.tid, claims.sub, claims.sid, checkedAt);
  const settle = (raw: unknown) => {
    const row = toPrincipalRow(raw as Parameters<typeof toPrincipalRow>[0]);
    if (!row) throw sessionEnded();
    const principal = userPrincipal(row, claims.sid);
    admit(c, principal);
    return principal;
  };
  if (defersSessionCheck(c)) {
    c.set("caller", { tenantId: claims.tid, userId: claims.sub });
    c.set("pendingSession", { statement, settle, sessionId: claims.sid, checkedAt });
    return null;
  }
  return settle(await statement);
}

async function apiKeyPrincipal(c: Context<AppEnv>, key: string): Promise<Principal> {
  const bootstrap = c.env.BOOTSTRAP_API_KEY;
  if (bootstrap && timingSafeEqual(key, bootstrap)) return platformPrincipal(c, "bootstrap");
  const row = await findApiKeyByHash(c.var.db, await sha256Hex(key), isoNow());
  if (!row) throw unauthorized("The API key is not valid.");
  if (row.tenantId === null) return platformPrincipal(c, row.id);
  return {
    kind: "api_key",
    tenantId: row.tenantId,
    userId: null,
    sessionId: null,
    keyId: row.id,
    ...rolesAndPermissions(row.roles),
    passwordChangeRequired: false,
  };
}

async function platformPrincipal(c: Context<AppEnv>, keyId: string): Promise<Principal> {
  const named = c.req.header("X-Tenant") ?? c.req.query("tenant");
  let tenantId: string | null = null;
  if (named) {
    tenantId = await findTenantRef(c.var.db, named);
    if (!tenantId) throw notFound("Tenant");
  }
  return {
    kind: "platform",
    tenantId,
    userId: null,
    sessionId: null,
    keyId,
    roles: ["owner"],
    permissions: ["*"],
    passwordChangeRequired: false,
  };
}

function rolesAndPermissions(grants: RoleGrant[]) {
  return {
    roles: grants.map((g) => g.name),
    permissions: [...new Set(grants.flatMap((g) => g.permissions))],
  };
}
