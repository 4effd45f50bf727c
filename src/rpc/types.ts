/**
 * The shapes Workers RPC hands to sibling Workers (the contract's "Workers RPC and the client
 * library"). Type-only, so consumers (and userplane/hono) import them without the worker's code.
 */

/** What `UserplaneRpc.authenticate` answers for an accepted credential. */
export interface AuthenticatedPrincipal {
  kind: "user" | "api_key" | "platform";
  /** The principal's tenant; null for a platform key. */
  tenant_id: string | null;
  /** A user's id; for an API key, the user who created it (null when a key or platform principal did). */
  user_id: string | null;
  session_id: string | null;
  /** An API key's id; null for users and for the bootstrap key. */
  key_id: string | null;
  roles: string[];
  /** The grants of the roles, as granted (`*`, `users:*`, `tasks:admin`). */
  permissions: string[];
  /** A user signed in with a temporary password: refused everywhere but the password change. */
  password_change_required: boolean;
}

/** `options.tenant`: the tenant (id or slug) a platform credential acts in, as `X-Tenant` does. */
export interface TenantOption {
  tenant?: string;
}

/** The methods of the `UserplaneRpc` entrypoint, as a consumer's binding sees them. */
export interface UserplaneRpcMethods {
  authenticate(credential: string): Promise<AuthenticatedPrincipal | null>;
  can(credential: string, permission: string, options?: TenantOption): Promise<boolean>;
  getUser(credential: string, id: string, options?: TenantOption): Promise<Record<string, unknown> | null>;
  fetch(request: Request): Promise<Response>;
}
