import { ApiError, forbidden } from "../lib/errors";
import { holds } from "./permissions";

/**
 * Who is calling. Exactly one principal per request, resolved by the authenticate middleware.
 * `tenantId` is the tenant the principal acts in: its own for users and tenant keys, the one
 * named by `X-Tenant` for platform keys (null when none was named).
 */
export interface Principal {
  kind: "user" | "api_key" | "platform";
  tenantId: string | null;
  userId: string | null;
  sessionId: string | null;
  keyId: string | null;
  /** A tenant API key's creator: null when a key or a platform principal made it (unset for others). */
  keyCreatedBy?: string | null;
  roles: string[];
  permissions: string[];
  /** Signed in with a temporary password: only `POST /v1/users/me/password` is allowed. */
  passwordChangeRequired: boolean;
}

export function can(principal: Principal, permission: string): boolean {
  return holds(principal.permissions, permission);
}

export function requirePermission(principal: Principal, permission: string): void {
  if (!can(principal, permission)) throw forbidden(`Missing permission ${permission}.`);
}

/** The tenant the request acts in; platform callers must name one with `X-Tenant`. */
export function tenantOf(principal: Principal): string {
  if (principal.tenantId) return principal.tenantId;
  throw new ApiError(
    "bad_request",
    "Name the tenant to act in with the X-Tenant header (tenant id or slug) or the tenant query parameter.",
  );
}

/** The signed-in user; API keys and platform principals have no "me". */
export function userOf(principal: Principal): string {
  if (principal.userId) return principal.userId;
  throw forbidden("This route needs a signed-in user, not an API key.");
}

export const isPlatform = (p: Principal) => p.kind === "platform";
