import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import { can, requirePermission, tenantOf, type Principal } from "../auth/principal";
import { isBuiltinRole } from "../auth/permissions";
import { permissionsOfRole } from "../auth/repo";
import { etagOf } from "../lib/etag";
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
import { deleteRoleStatement, findRole, insertRole, roleInUseSql, updateRole, type RoleRecord } from "./repo";
import { defineCheck, rowsOf } from "./guards";
import {
  ifMatchCheck,
  needs,
  sessionChecks,
  tenantIn,
  writeGuarded,
  writerFor,
  type Check,
  type Guard,
  type WriteCaller,
} from "../auth/guards";
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
  const db = c.get("db");
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
  const role = await findRole(c.get("db"), tenantOf(principal), name);
  if (!role) throw notFound("Role");
  return role;
}

/** `POST /v1/roles`: a custom role with permissions the caller holds; 409 when the name is taken. One round trip. */
export async function createRole(c: Context<AppEnv>, principal: Principal, input: CreateRoleInput): Promise<RoleRecord> {
  const caller = writerFor(c, principal);
  const tenantId = tenantIn(caller);
  const permissions = normalize(input.permissions);
  const checks: Check[] = [
    ...sessionChecks(caller),
    needs(caller, "roles:write"),
    { refuses: isBuiltinRole(input.name), answer: () => builtinRole(input.name) },
    defineCheck(input.name, rowsOf(permissions)),
  ];
  const insert = insertRole(c.get("db"), tenantId, { name: input.name, description: input.description ?? null, permissions }, isoNow());
  const [rows] = await writeGuarded<[RoleRecord[]]>(c, { caller, checks }, [insert]);
  return rows[0]!;
}

/**
 * The checks of changing or deleting custom role `name` (as `cr`): roles:write, 404, 409 for a
 * built-in role, If-Match (412), then `more`.
 */
function customRoleGuard(c: Context<AppEnv>, caller: WriteCaller, tenantId: string, name: string, more: Check[]): Guard {
  return {
    caller,
    with: sql`role_row AS (SELECT * FROM roles WHERE tenant_id = ${tenantId} AND name = ${name})`,
    join: sql`LEFT JOIN role_row cr ON 1`,
    checks: [
      ...sessionChecks(caller),
      needs(caller, "roles:write"),
      { refuses: sql`cr.name IS NULL`, answer: () => notFound("Role") },
      { refuses: sql`cr.is_builtin = 1`, answer: () => builtinRole(name) },
      ifMatchCheck(c, "rol", name, sql`cr.version`),
      ...more,
    ],
  };
}

/**
 * `PATCH /v1/roles/{name}`: a merge patch of description and permissions, in one round trip. The
 * change applies to the role as the batch finds it, so concurrent patches never conflict: each
 * replaces what it names, in the order they reach the database, and each is checked against the
 * permissions the role has at that moment. If-Match pins a version (412 otherwise).
 */
export async function patchRole(c: Context<AppEnv>, principal: Principal, name: string, patch: PatchRoleInput) {
  const caller = writerFor(c, principal);
  const tenantId = tenantIn(caller);
  const permissions = patch.permissions === undefined ? undefined : normalize(patch.permissions);
  // Taking a permission out of a role counts as much as adding one: both sets must be held.
  const touched = sql`SELECT value FROM json_each(cr.permissions) UNION SELECT value FROM json_each(${JSON.stringify(permissions ?? [])})`;
  const guard = customRoleGuard(c, caller, tenantId, name, [defineCheck(name, touched)]);
  const update = updateRole(c.get("db"), tenantId, name, { description: patch.description, permissions }, isoNow());
  const [rows] = await writeGuarded<[RoleRecord[]]>(c, guard, [update]);
  return rows[0]!;
}

/**
 * `DELETE /v1/roles/{name}`: one round trip that deletes the role only while no user and no live
 * API key holds it; otherwise 409 role_in_use and nothing changes.
 */
export async function deleteRole(c: Context<AppEnv>, principal: Principal, name: string): Promise<void> {
  const caller = writerFor(c, principal);
  const tenantId = tenantIn(caller);
  const guard = customRoleGuard(c, caller, tenantId, name, [
    defineCheck(name, sql`SELECT value FROM json_each(cr.permissions)`),
    {
      refuses: roleInUseSql(tenantId, name, isoNow()),
      answer: () => new ApiError("role_in_use", `Users or API keys hold the role "${name}"; take it from them first.`),
    },
  ]);
  await writeGuarded(c, guard, [deleteRoleStatement(c.get("db"), tenantId, name)]);
}

const builtinRole = (name: string) =>
  new ApiError("role_builtin", `"${name}" is a built-in role: it cannot be created, changed or deleted.`);

/** `GET /v1/permissions/check`: does the caller itself hold the permission? */
export function checkPermission(principal: Principal, q: PermissionCheckInput): { allowed: true } {
  const permission = q.permission ?? `${q.resource}:${q.action}`;
  if (!can(principal, permission)) throw forbidden(`You do not hold ${permission}.`);
  return { allowed: true };
}
