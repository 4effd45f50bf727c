/**
 * `userplane/hono`: protect a sibling Worker's routes with userplane.
 *
 *   app.use("*", userplane({ binding: "USERPLANE" }));      // or { baseUrl: "https://users.example.com" }
 *   app.get("/tasks", requirePermission("tasks:admin"), (c) => c.json(c.var.principal));
 *
 * `userplane()` reads `Authorization: Bearer <token | API key>` and sets `c.var.principal` (the
 * shape of Workers RPC's `authenticate`, or null without an accepted credential);
 * `requirePermission()` answers 401 (no principal) or 403 (not held) as problem+json. A user who
 * must change a temporary password is refused (403 password_change_required) on every route but
 * `POST /v1/users/me/password`, as in the API.
 */
import type { Context, MiddlewareHandler } from "hono";
import { createRemoteJWKSet, customFetch, jwtVerify } from "jose";
import { holds, PERMISSION_PATTERN } from "../auth/permissions";
import { ApiError, problemBody, type ErrorCode } from "../lib/errors";
import type { AuthenticatedPrincipal, TenantOption, UserplaneRpcMethods } from "../rpc/types";

export type { AuthenticatedPrincipal } from "../rpc/types";

/** What the middleware puts on the context. */
export interface UserplaneVariables {
  /** The caller, or null when the request carried no accepted credential. */
  principal: AuthenticatedPrincipal | null;
  /** The credential it came with (to act as the caller: `env.USERPLANE.getUser(c.var.credential, id)`). */
  credential: string | null;
  /** How requirePermission asks about a permission (set by userplane()). */
  userplanePermission: (permission: string) => Promise<boolean>;
}

export interface UserplaneEnv {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  Bindings: any;
  Variables: UserplaneVariables;
}

/** The two RPC methods the middleware needs (a `[[services]]` binding to `UserplaneRpc` has them). */
export type UserplaneBinding = Pick<UserplaneRpcMethods, "authenticate" | "can">;

interface CommonOptions {
  /**
   * For platform keys: the tenant (id or slug) a request acts in, e.g. `(c) => c.req.param("tenant")`.
   * A tenant principal's own tenant always wins.
   */
  tenant?: (c: Context) => string | undefined;
}

export interface BindingOptions extends CommonOptions {
  /** The service binding's name in `c.env` ("USERPLANE"), the binding itself, or a function of the env giving it. */
  binding: string | UserplaneBinding | ((env: any) => UserplaneBinding); // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface BaseUrlOptions extends CommonOptions {
  /** Where userplane answers over HTTP, e.g. `https://users.example.com`. */
  baseUrl: string;
  /** Any fetch to reach it (tests, a proxy); the global `fetch` by default. */
  fetch?: (request: Request) => Promise<Response>;
}

export type UserplaneOptions = BindingOptions | BaseUrlOptions;

/** The one route a user with a temporary password may use (the API's own rule). */
const PASSWORD_CHANGE = { method: "POST", path: "/v1/users/me/password" };

/** Sets `c.var.principal` (and `c.var.credential`) from the request's bearer credential. */
export function userplane(options: UserplaneOptions): MiddlewareHandler<UserplaneEnv> {
  const verifier = "binding" in options ? bindingVerifier(options) : httpVerifier(options);
  return async function userplaneMiddleware(c, next) {
    const credential = bearerCredential(c.req.header("Authorization"));
    const principal = credential ? await verifier.authenticate(c, credential) : null;
    c.set("credential", principal ? credential : null);
    c.set("principal", principal);
    c.set("userplanePermission", (permission) =>
      principal ? verifier.can(c, credential!, principal, permission) : Promise.resolve(false),
    );
    if (principal?.password_change_required && !(c.req.method === PASSWORD_CHANGE.method && c.req.path === PASSWORD_CHANGE.path)) {
      return problem("password_change_required", "Signed in with a temporary password: change it with POST /v1/users/me/password first.");
    }
    await next();
  };
}

/** 401 without a principal, 403 unless it holds `permission` (`resource:action`, wildcards honoured). */
export function requirePermission(permission: string): MiddlewareHandler<UserplaneEnv> {
  if (!PERMISSION_PATTERN.test(permission)) throw new TypeError(`requirePermission: "${permission}" is not resource:action`);
  return async function requirePermissionMiddleware(c, next) {
    if (!c.var.principal) return problem("unauthorized", "Authentication required.");
    if (!(await c.var.userplanePermission(permission))) return problem("forbidden", `Missing permission ${permission}.`);
    await next();
  };
}

interface Verifier {
  authenticate(c: Context, credential: string): Promise<AuthenticatedPrincipal | null>;
  can(c: Context, credential: string, principal: AuthenticatedPrincipal, permission: string): Promise<boolean>;
}

/** What the API itself decides for a tenant principal, from the grants authenticate() gave. */
const heldLocally = (p: AuthenticatedPrincipal, permission: string) =>
  p.tenant_id !== null && !p.password_change_required && holds(p.permissions, permission);

function tenantOption(options: CommonOptions, c: Context): TenantOption | undefined {
  const tenant = options.tenant?.(c);
  return tenant ? { tenant } : undefined;
}

function bindingVerifier(options: BindingOptions): Verifier {
  const { binding } = options;
  if (!binding) throw new TypeError("userplane: binding is required");
  const resolve = (c: Context): UserplaneBinding => {
    const found = typeof binding === "string" ? c.env?.[binding] : typeof binding === "function" ? binding(c.env) : binding;
    if (!found) throw new Error(`userplane: no service binding ${typeof binding === "string" ? binding : ""} in env`);
    return found;
  };
  return {
    authenticate: (c, credential) => resolve(c).authenticate(credential),
    // A platform key has no tenant of its own: only userplane knows whether the named one exists.
    can: (c, credential, p, permission) =>
      p.kind === "platform" ? resolve(c).can(credential, permission, tenantOption(options, c)) : Promise.resolve(heldLocally(p, permission)),
  };
}

/**
 * Over HTTP. Access tokens are verified first against userplane's JWKS (jose's remote key set,
 * cached), so a forged or expired token costs no request; then `GET /v1/principal` (one request)
 * confirms the session is live and gives roles and permissions. API keys are opaque: they go to
 * `GET /v1/principal` directly. Platform keys ask `GET /v1/permissions/check` with X-Tenant.
 * Tokens of an external identity provider fail the JWKS check here: use binding mode for those.
 */
function httpVerifier(options: BaseUrlOptions): Verifier {
  const base = new URL(options.baseUrl);
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const jwks = createRemoteJWKSet(new URL("/.well-known/jwks.json", base), {
    [customFetch]: (url, init) => send(new Request(url, init)),
  });
  const get = (path: string, credential: string, tenant?: string) => {
    const headers = new Headers({ Authorization: `Bearer ${credential}` });
    if (tenant) headers.set("X-Tenant", tenant);
    return send(new Request(new URL(path, base), { headers }));
  };
  return {
    async authenticate(_c, credential) {
      if (!credential.startsWith("up_")) {
        try {
          await jwtVerify(credential, jwks, {
            issuer: "userplane",
            audience: "userplane",
            typ: "at+jwt",
            algorithms: ["EdDSA", "ES256", "RS256"],
            clockTolerance: 60,
          });
        } catch {
          return null;
        }
      }
      const response = await get("/v1/principal", credential);
      if (response.status === 200) return (await response.json()) as AuthenticatedPrincipal;
      const body = (await response.json().catch(() => null)) as { code?: string; detail?: string } | null;
      // The API refuses a temporary-password user everywhere else; the middleware keeps that rule.
      if (response.status === 403 && body?.code === "password_change_required") return passwordChangePending();
      return null;
    },
    async can(c, credential, p, permission) {
      if (p.kind !== "platform") return heldLocally(p, permission);
      const tenant = tenantOption(options, c)?.tenant;
      if (!tenant) return false;
      const response = await get(`/v1/permissions/check?permission=${encodeURIComponent(permission)}`, credential, tenant);
      await response.body?.cancel();
      return response.status === 200;
    },
  };
}

/** A user the API knows only as "must change the password first": it acts in no route here. */
const passwordChangePending = (): AuthenticatedPrincipal => ({
  kind: "user",
  tenant_id: null,
  user_id: null,
  session_id: null,
  key_id: null,
  roles: [],
  permissions: [],
  password_change_required: true,
});

function bearerCredential(header: string | undefined): string | null {
  const match = header ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

/** The API's own problem+json (same registry, same shape), answered by the consumer Worker. */
function problem(code: ErrorCode, detail: string): Response {
  const error = new ApiError(code, detail);
  const headers: Record<string, string> = { "Content-Type": "application/problem+json" };
  if (error.status === 401) headers["WWW-Authenticate"] = "Bearer";
  return new Response(JSON.stringify(problemBody(error)), { status: error.status, headers });
}
