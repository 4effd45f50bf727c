import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv, Bindings, Db } from "../env";
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
import { defersSessionCheck, type Caller, type PendingSession } from "../auth/deferred";
import { requireAllowedOrigin } from "../lib/origin";

/** The one route a caller with a temporary password may use. */
export const PASSWORD_CHANGE_ROUTE = { method: "POST", path: "/v1/users/me/password" } as const;

export const API_KEY_PREFIX = "up_";
/** `keyId` of the platform principal the BOOTSTRAP_API_KEY secret names (it is no row). */
export const BOOTSTRAP_KEY_ID = "bootstrap";

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

/** What resolving a credential needs: the worker's env, its database, and the tenant a platform caller names. */
export interface CredentialScope {
  env: Bindings;
  db: Db;
  /** `X-Tenant` / `?tenant=` (or RPC's `options.tenant`): only a platform principal's tenant. */
  namedTenant: string | undefined;
}

const scopeOf = (c: Context<AppEnv>): CredentialScope => ({
  env: c.env,
  db: c.get("db"),
  namedTenant: c.req.header("X-Tenant") ?? c.req.query("tenant"),
});

/**
 * The principal `credential` (what follows `Bearer `: an access token or an API key) names, after
 * every check the HTTP API makes; throws the API's 401 (or 404 for an unknown named tenant).
 * The one way in for both this middleware and Workers RPC (src/rpc/).
 */
export async function principalOfCredential(scope: CredentialScope, credential: string): Promise<Principal> {
  if (credential.startsWith(API_KEY_PREFIX)) return apiKeyPrincipal(scope, credential);
  const checked = await checkJwt(scope, credential);
  return "principal" in checked ? checked.principal : checked.pending.settle(await checked.pending.statement());
}

/** The principal, or null when its session check was left for the handler's batch. */
async function resolvePrincipal(c: Context<AppEnv>): Promise<Principal | null> {
  const authorization = c.req.header("Authorization");
  if (authorization !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthorized("Use Authorization: Bearer <token>.");
    const credential = m[1]!;
    return credential.startsWith(API_KEY_PREFIX) ? apiKeyPrincipal(scopeOf(c), credential) : jwtPrincipal(c, credential);
  }
  const cookie = getCookie(c, "token");
  if (cookie) {
    // The browser attaches the cookie by itself, whoever made the page: changes need our origin.
    requireAllowedOrigin(c);
    return jwtPrincipal(c, cookie);
  }
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
  const checked = await checkJwt(scopeOf(c), token);
  if ("principal" in checked) return checked.principal;
  const pending: PendingSession = {
    ...checked.pending,
    settle: (raw) => {
      const principal = checked.pending.settle(raw);
      admit(c, principal);
      return principal;
    },
  };
  if (defersSessionCheck(c)) {
    c.set("caller", checked.caller);
    c.set("pendingSession", pending);
    return null;
  }
  return pending.settle(await pending.statement());
}

/** A verified JWT: its principal, or (own tokens) the session read that decides it, not yet sent. */
type CheckedJwt = { principal: Principal } | { caller: Caller; pending: PendingSession };

async function checkJwt({ env, db }: CredentialScope, token: string): Promise<CheckedJwt> {
  // Without an external provider every JWT must be one of ours: no need to read `iss` first.
  if (env.JWT_JWKS_URL && tokenIssuer(token) !== OWN_ISSUER) {
    const identity = await verifyExternalToken(env, token);
    const row = await findExternalPrincipal(db, identity.tenant, identity.subject);
    if (!row) throw sessionEnded();
    return { principal: userPrincipal(row, null) };
  }
  const claims = await verifyAccessToken(env, token);
  const checkedAt = isoNow();
  const statement = () => sessionPrincipalStatement(db, claims.tid, claims.sub, claims.sid, checkedAt);
  const settle = (raw: unknown) => {
    const row = toPrincipalRow(raw as Parameters<typeof toPrincipalRow>[0]);
    if (!row) throw sessionEnded();
    return userPrincipal(row, claims.sid);
  };
  return {
    caller: { tenantId: claims.tid, userId: claims.sub },
    pending: { statement, settle, sessionId: claims.sid, checkedAt },
  };
}

async function apiKeyPrincipal(scope: CredentialScope, key: string): Promise<Principal> {
  const bootstrap = scope.env.BOOTSTRAP_API_KEY;
  if (bootstrap && timingSafeEqual(key, bootstrap)) return platformPrincipal(scope, BOOTSTRAP_KEY_ID);
  const row = await findApiKeyByHash(scope.db, await sha256Hex(key), isoNow());
  if (!row) throw unauthorized("The API key is not valid.");
  if (row.tenantId === null) return platformPrincipal(scope, row.id);
  return {
    kind: "api_key",
    tenantId: row.tenantId,
    userId: null,
    sessionId: null,
    keyId: row.id,
    keyCreatedBy: row.userId,
    ...rolesAndPermissions(row.roles),
    passwordChangeRequired: false,
  };
}

async function platformPrincipal({ db, namedTenant: named }: CredentialScope, keyId: string): Promise<Principal> {
  let tenantId: string | null = null;
  if (named) {
    tenantId = await findTenantRef(db, named);
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
