import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import { can, requirePermission, tenantOf, type Principal } from "../auth/principal";
import { isBuiltinRole } from "../auth/permissions";
import { permissionsOfRole } from "../auth/repo";
import { guarded } from "../lib/db-errors";
import { busy, etagOf, expectedVersion, OPTIMISTIC_ATTEMPTS, preconditionFailed } from "../lib/etag";
import { ApiError, forbidden, notFound } from "../lib/errors";
import {
  cursorPage,
  keysetCondition,
  orderBy,
  resolvePagination,
  type PaginationInput,
  type SortableField,
  type SortTerm,
  numberedPage,
} from "../lib/pagination";
import { isoNow } from "../lib/time";
import {
  assertCanDefine,
  deleteUnusedRole,
  findRole,
  insertRole,
  updateRoleAtVersion,
  type RoleRecord,
} from "./repo";
import type { CreateRoleInput, PatchRoleInput, PermissionCheckInput } from "./schemas";

export const roleEtag = (r: Pick<RoleRecord, "name" | "version">) => etagOf("rol", r.name, r.version);

/** The public Role object; built-in roles show the code catalogue's permissions. */
export function presentRole(r: RoleRecord) {
  return {
    name: r.name,
    description: r.description,
    permissions: permissionsOfRole(r.name, JSON.parse(r.permissions) as string[]),
    is_builtin: r.isBuiltin,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

/** Stored permissions are de-duplicated and sorted, so equal sets look equal. */
const normalize = (permissions: readonly string[]) => [...new Set(permissions)].sort();

interface RawRole {
  [column: string]: unknown;
  tenant_id: string;
  name: string;
  description: string | null;
  permissions: string;
  is_builtin: number;
  created_at: string;
  updated_at: string;
  version: number;
}

const fromRaw = (r: RawRole): RoleRecord => ({
  tenantId: r.tenant_id,
  name: r.name,
  description: r.description,
  permissions: r.permissions,
  isBuiltin: r.is_builtin === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

/** Roles are listed by name: the primary key (tenant_id, name) serves the order. */
const ROLE_SORT: Record<string, SortableField> = { name: { expr: sql`name`, read: (r) => String(r.name) } };
const ROLE_ORDER: SortTerm[] = [{ field: "name", desc: false }];

/** `GET /v1/roles`: the tenant's built-in and custom roles, by name, in either pagination mode. */
export async function listRoles(c: Context<AppEnv>, principal: Principal, input: PaginationInput) {
  requirePermission(principal, "roles:read");
  const db = c.var.db;
  const tenantId = tenantOf(principal);
  const p = resolvePagination(input, `roles:${tenantId}`);
  const select = sql`SELECT tenant_id, name, description, permissions, is_builtin, created_at, updated_at, version
    FROM roles WHERE tenant_id = ${tenantId}`;
  const present = (r: RawRole) => presentRole(fromRaw(r));
  if (p.mode === "page") {
    const [rows, count] = await batch(db, [
      db.all<RawRole>(sql`${select} ORDER BY ${orderBy(ROLE_ORDER, ROLE_SORT)} LIMIT ${p.pageSize} OFFSET ${(p.page - 1) * p.pageSize}`),
      db.get<{ total: number }>(sql`SELECT count(*) AS total FROM roles WHERE tenant_id = ${tenantId}`),
    ]);
    return numberedPage(rows.map(present), count?.total, p);
  }
  const after = p.cursor ? sql` AND ${keysetCondition(ROLE_ORDER, ROLE_SORT, p.cursor)}` : sql``;
  const rows = await db.all<RawRole>(
    sql`${select}${after} ORDER BY ${orderBy(ROLE_ORDER, ROLE_SORT, p.cursor?.dir === "prev")} LIMIT ${p.limit + 1}`,
  );
  return cursorPage(rows, p, ROLE_ORDER, ROLE_SORT, `roles:${tenantId}`, present);
}

/** A role of the caller's tenant, or 404 exactly as if it did not exist. */
export async function getRole(c: Context<AppEnv>, principal: Principal, name: string): Promise<RoleRecord> {
  requirePermission(principal, "roles:read");
  const role = await findRole(c.var.db, tenantOf(principal), name);
  if (!role) throw notFound("Role");
  return role;
}

/** `POST /v1/roles`: a custom role with permissions the caller holds; 409 when the name is taken. */
export async function createRole(c: Context<AppEnv>, principal: Principal, input: CreateRoleInput): Promise<RoleRecord> {
  requirePermission(principal, "roles:write");
  const tenantId = tenantOf(principal);
  if (isBuiltinRole(input.name)) throw builtinRole(input.name);
  const permissions = normalize(input.permissions);
  assertCanDefine(principal, input.name, permissions);
  return guarded(() =>
    insertRole(c.var.db, tenantId, { name: input.name, description: input.description ?? null, permissions }, isoNow()),
  );
}

/**
 * `PATCH /v1/roles/{name}`: a merge patch of description and permissions. The write is
 * conditional on the version the privilege check saw; a concurrent change makes it a 412 with
 * If-Match, or a fresh attempt without.
 */
export async function patchRole(c: Context<AppEnv>, principal: Principal, name: string, patch: PatchRoleInput) {
  requirePermission(principal, "roles:write");
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const current = await customRole(c, principal, name);
    const pinned = expectedVersion(c, "rol", current.name, current.version);
    const permissions = patch.permissions === undefined ? undefined : normalize(patch.permissions);
    const before = JSON.parse(current.permissions) as string[];
    assertCanDefine(principal, name, [...before, ...(permissions ?? [])]);
    const updated = await updateRoleAtVersion(c.var.db, current, { description: patch.description, permissions }, isoNow());
    if (updated) return updated;
    if (pinned !== undefined) throw preconditionFailed();
  }
  throw busy("role");
}

/**
 * `DELETE /v1/roles/{name}`: one conditional DELETE that succeeds only while no user and no live
 * API key holds the role; otherwise 409 role_in_use and nothing changes.
 */
export async function deleteRole(c: Context<AppEnv>, principal: Principal, name: string): Promise<void> {
  requirePermission(principal, "roles:write");
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const current = await customRole(c, principal, name);
    const pinned = expectedVersion(c, "rol", current.name, current.version);
    assertCanDefine(principal, name, JSON.parse(current.permissions) as string[]);
    if (await deleteUnusedRole(c.var.db, current, isoNow())) return;
    const now = await findRole(c.var.db, current.tenantId, name);
    if (!now) throw notFound("Role");
    if (now.version === current.version) {
      throw new ApiError("role_in_use", `Users or API keys hold the role "${name}"; take it from them first.`);
    }
    if (pinned !== undefined) throw preconditionFailed();
  }
  throw busy("role");
}

/** The role to change: it must exist in the caller's tenant (404) and not be built in (409). */
async function customRole(c: Context<AppEnv>, principal: Principal, name: string): Promise<RoleRecord> {
  const role = await findRole(c.var.db, tenantOf(principal), name);
  if (!role) throw notFound("Role");
  if (role.isBuiltin) throw builtinRole(name);
  return role;
}

const builtinRole = (name: string) =>
  new ApiError("role_builtin", `"${name}" is a built-in role: it cannot be created, changed or deleted.`);

/** `GET /v1/permissions/check`: does the caller itself hold the permission? */
export function checkPermission(principal: Principal, q: PermissionCheckInput): { allowed: true } {
  const permission = q.permission ?? `${q.resource}:${q.action}`;
  if (!can(principal, permission)) throw forbidden(`You do not hold ${permission}.`);
  return { allowed: true };
}
