import { WorkerEntrypoint } from "cloudflare:workers";
import { createApp, dbFor } from "../app";
import type { Bindings } from "../env";
import { can as holdsPermission, type Principal } from "../auth/principal";
import { PERMISSION_PATTERN } from "../auth/permissions";
import { principalOfCredential } from "../middleware/authenticate";
import { presentPrincipal } from "./present";
import { ApiError } from "../lib/errors";
import type { AuthenticatedPrincipal, TenantOption } from "./types";

/** What may follow `Bearer ` in an HTTP header: one run of visible ASCII characters. */
const CREDENTIAL_PATTERN = /^[\x21-\x7e]{1,4096}$/;
/** What X-Tenant can carry; any other `options.tenant` names no tenant. */
const TENANT_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** A tenant reference no tenant has (slugs and ids have no "!"): a platform caller gets false/null. */
const NO_TENANT = "!";

/** Built on first use: a Worker that only serves the default entrypoint never pays for a second app. */
let app: ReturnType<typeof createApp> | undefined;

/**
 * Workers RPC for sibling Workers (`[[services]] binding = "USERPLANE", service = "userplane",
 * entrypoint = "UserplaneRpc"`). The binding grants nothing: every call acts as the credential it
 * carries, with the HTTP API's own checks. A refused credential is `null` / `false`, never a
 * throw.
 */
export class UserplaneRpc extends WorkerEntrypoint<Bindings> {
  /** The whole HTTP API, as the default entrypoint serves it. */
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve((app ??= createApp()).fetch(request, this.env, this.ctx));
  }

  /** The principal `credential` (an access token or an API key) names, or null when refused. */
  async authenticate(credential: string): Promise<AuthenticatedPrincipal | null> {
    const principal = await this.principal(credential, undefined);
    return principal && presentPrincipal(principal);
  }

  /**
   * Whether the credential holds `permission` in the tenant it acts in (`options.tenant` names it
   * for a platform credential). False for a refused credential, a platform credential without a
   * tenant, a user who must first change a temporary password, and a `permission` that is no
   * `resource:action`, `resource:*` or `*` (nobody holds it; a throw would turn a consumer's
   * access decision into a 500, and deciding access must fail closed).
   */
  async can(credential: string, permission: string, options?: TenantOption): Promise<boolean> {
    if (typeof permission !== "string" || !PERMISSION_PATTERN.test(permission)) return false;
    const principal = await this.principal(credential, tenantOf(options));
    if (!principal || principal.tenantId === null || principal.passwordChangeRequired) return false;
    return holdsPermission(principal, permission);
  }

  /** The User exactly as `GET /v1/users/{id}` answers that caller, or null wherever it is no 200. */
  async getUser(credential: string, id: string, options?: TenantOption): Promise<Record<string, unknown> | null> {
    if (!isCredential(credential) || typeof id !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return null;
    const headers = new Headers({ Authorization: `Bearer ${credential}` });
    const tenant = tenantOf(options);
    if (tenant !== undefined) headers.set("X-Tenant", tenant);
    const response = await this.fetch(new Request(`https://userplane.internal/v1/users/${id}`, { headers }));
    if (response.status !== 200) {
      await response.body?.cancel();
      return null;
    }
    return response.json();
  }

  /** The verified principal, or null for every refusal the HTTP API answers with a problem. */
  private async principal(credential: unknown, namedTenant: string | undefined): Promise<Principal | null> {
    if (!isCredential(credential)) return null;
    try {
      return await principalOfCredential({ env: this.env, db: dbFor(this.env), namedTenant }, credential);
    } catch (error) {
      if (error instanceof ApiError) return null;
      throw error;
    }
  }
}

const isCredential = (value: unknown): value is string => typeof value === "string" && CREDENTIAL_PATTERN.test(value);

/** `options.tenant` as X-Tenant would carry it; absent or empty is no tenant named at all. */
function tenantOf(options: TenantOption | undefined): string | undefined {
  const tenant: unknown = options?.tenant;
  if (tenant === undefined || tenant === null || tenant === "") return undefined;
  return typeof tenant === "string" && TENANT_PATTERN.test(tenant) ? tenant : NO_TENANT;
}
