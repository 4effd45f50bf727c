import type { Context } from "hono";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import { requirePermission, type Principal } from "../auth/principal";
import { API_KEY_PREFIX } from "../middleware/authenticate";
import { randomSecret, sha256Hex } from "../lib/crypto";
import { ApiError, fieldError, notFound } from "../lib/errors";
import { assertIfMatch, etagOf } from "../lib/etag";
import { newId } from "../lib/ids";
import { cursorPage, keysetCondition, numberedPage, orderBy, resolvePagination, type PaginationInput } from "../lib/pagination";
import { isoNow } from "../lib/time";
import { assertCanGrant, existingGrants } from "../roles/repo";
import { roleGrantChecks } from "../roles/guards";
import { needs, sessionChecks, writeGuarded, writerFor, type Check } from "../auth/guards";
import {
  countKeysStatement,
  deleteKey,
  findKey,
  insertKeyIfRolesExist,
  KEY_ORDER,
  KEY_SORT,
  listKeysStatement,
  type ApiKeyRow,
  type KeyScope,
} from "./repo";
import type { CreateApiKeyInput } from "./schemas";

/** 256 random bits: 43 base64url characters after the `up_` the authenticate middleware looks for. */
const SECRET_BITS = 256;
/** How much of a key is kept in clear, to recognise it in lists (far too little to guess the rest). */
const DISPLAY_PREFIX_LENGTH = 10;

export function presentKey(row: ApiKeyRow) {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    user_id: row.user_id,
    name: row.name,
    roles: JSON.parse(row.roles) as string[],
    prefix: row.prefix,
    created_at: row.created_at,
    expires_at: row.expires_at,
  };
}

/**
 * The keys a principal manages: those of the tenant it acts in, or, for a platform principal
 * that names no tenant, the platform keys. Tenant principals can never reach platform keys.
 */
const scopeOf = (p: Principal): KeyScope => p.tenantId;

/**
 * `POST /v1/api-keys`: the key is `up_` + 256 random bits, shown once and stored as its SHA-256.
 * A platform principal without a tenant creates a platform key (no roles; it acts as a platform
 * principal); everyone else creates a key of their tenant with roles they could grant.
 */
export async function createApiKey(c: Context<AppEnv>, principal: Principal, input: CreateApiKeyInput) {
  const caller = writerFor(c, principal);
  const scope = caller.tenantId;
  const roles = [...new Set(input.roles)];
  let expiresAt: string | null = null;
  let badExpiry: ApiError | null = null;
  try {
    expiresAt = futureInstant(input.expires_at);
  } catch (err) {
    badExpiry = err as ApiError;
  }
  const checks: Check[] = [
    ...sessionChecks(caller),
    needs(caller, "api_keys:write"),
    { refuses: badExpiry !== null, answer: () => badExpiry! },
    {
      refuses: scope === null && roles.length > 0,
      answer: () =>
        fieldError(
          "roles",
          "Platform keys carry no roles: they act as platform principals. Name a tenant (X-Tenant) to create a tenant key.",
          "platform_key_roles",
        ),
    },
    ...(scope === null ? [] : roleGrantChecks(scope, roles)),
  ];
  const key = `${API_KEY_PREFIX}${randomSecret(SECRET_BITS)}`;
  const insert = insertKeyIfRolesExist(c.get("db"), {
    id: newId("key"),
    tenantId: scope,
    // The key goes when its creator is deleted; keys created by keys belong to the tenant.
    userId: caller.actor.kind === "user" ? caller.userId : null,
    name: input.name,
    roles,
    hash: await sha256Hex(key),
    prefix: key.slice(0, DISPLAY_PREFIX_LENGTH),
    createdAt: isoNow(),
    expiresAt,
  });
  // The guard saw every role in the same transaction, so the insert cannot miss one.
  const [row] = await writeGuarded<[ApiKeyRow]>(c, { caller, checks }, [insert]);
  return { ...presentKey(row), key };
}

/** `expires_at` as a canonical UTC instant (stored text compares as time); past → 422. */
function futureInstant(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const at = new Date(value);
  if (!(at.getTime() > Date.now())) throw fieldError("expires_at", "expires_at must be in the future.", "not_in_future");
  return at.toISOString();
}

/** `GET /v1/api-keys`: the keys of the scope, oldest first, without secrets or hashes. */
export async function listApiKeys(c: Context<AppEnv>, principal: Principal, input: PaginationInput) {
  requirePermission(principal, "api_keys:read");
  const db = c.get("db");
  const scope = scopeOf(principal);
  const cursorScope = `api-keys:${scope ?? "platform"}`;
  const p = resolvePagination(input, cursorScope);
  if (p.mode === "page") {
    const [rows, count] = await batch(db, [
      listKeysStatement(db, scope, { order: orderBy(KEY_ORDER, KEY_SORT), limit: p.pageSize, offset: (p.page - 1) * p.pageSize }),
      countKeysStatement(db, scope),
    ]);
    return numberedPage(rows.map(presentKey), count?.total, p);
  }
  const rows = await listKeysStatement(db, scope, {
    where: p.cursor ? keysetCondition(KEY_ORDER, KEY_SORT, p.cursor) : undefined,
    order: orderBy(KEY_ORDER, KEY_SORT, p.cursor?.dir === "prev"),
    limit: p.limit + 1,
  });
  return cursorPage(rows, p, KEY_ORDER, KEY_SORT, cursorScope, presentKey);
}

/** A key of the caller's scope, or 404 exactly as if it did not exist. */
export async function getApiKey(c: Context<AppEnv>, principal: Principal, id: string): Promise<ApiKeyRow> {
  requirePermission(principal, "api_keys:read");
  return findKeyOr404(c, principal, id);
}

/**
 * `DELETE /v1/api-keys/{id}`: the key fails from this moment on. Revoking a key takes its roles
 * away, so it needs the same privilege as granting them. The bootstrap key is a secret of the
 * deployment, not a row: the API cannot revoke it (404).
 */
export const apiKeyEtag = (id: string) => etagOf("key", id, 1);

export async function revokeApiKey(c: Context<AppEnv>, principal: Principal, id: string): Promise<void> {
  requirePermission(principal, "api_keys:write");
  const row = await findKeyOr404(c, principal, id);
  assertIfMatch(c, apiKeyEtag(row.id));
  if (row.tenant_id !== null) {
    assertCanGrant(principal, await existingGrants(c.get("db"), row.tenant_id, JSON.parse(row.roles) as string[]));
  }
  if (!(await deleteKey(c.get("db"), row.tenant_id, row.id))) throw notFound("API key");
}

async function findKeyOr404(c: Context<AppEnv>, principal: Principal, id: string): Promise<ApiKeyRow> {
  if (id === "bootstrap") {
    throw new ApiError(
      "not_found",
      "The bootstrap key is the BOOTSTRAP_API_KEY secret of the deployment, not an API key the API manages: change the secret to revoke it.",
    );
  }
  const row = await findKey(c.get("db"), scopeOf(principal), id);
  if (!row) throw notFound("API key");
  return row;
}
