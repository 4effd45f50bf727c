import { sql } from "drizzle-orm";
import type { Db } from "../env";
import { BUILTIN_ROLES, isBuiltinRole } from "./permissions";

export interface RoleGrant {
  name: string;
  permissions: string[];
}

/** A role row's permissions: built-in roles always take theirs from the code catalogue. */
export function permissionsOfRole(name: string, stored: string[]): string[] {
  return isBuiltinRole(name) ? [...BUILTIN_ROLES[name].permissions] : stored;
}

/** `permissionsOfRole` in SQL: the JSON permissions of the roles row aliased `alias`. */
export function rolePermissionsJson(alias: string) {
  // Literals, not parameters: the catalogue is code, and D1 binds at most 100 values a statement.
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
  const builtins = Object.entries(BUILTIN_ROLES).map(([name, role]) => `WHEN ${literal(name)} THEN ${literal(JSON.stringify(role.permissions))}`);
  return sql.raw(`(CASE ${alias}.name ${builtins.join(" ")} ELSE ${alias}.permissions END)`);
}

export interface UserPrincipalRow {
  userId: string;
  tenantId: string;
  passwordChangeRequired: boolean;
  roles: RoleGrant[];
}

interface RawPrincipalRow {
  id: string;
  tenant_id: string;
  password_change_required: number;
  roles: string;
}

/** Roles of the user row aliased `u`, with their permissions, as one JSON array column. */
export const rolesOfUser = sql`(SELECT json_group_array(json_object('name', r.name, 'permissions', json(r.permissions)))
    FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id AND r.name = ur.role
    WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id)`;

export function toPrincipalRow(row: RawPrincipalRow | undefined): UserPrincipalRow | null {
  if (!row) return null;
  const roles = (JSON.parse(row.roles) as RoleGrant[]).map((r) => ({
    name: r.name,
    permissions: permissionsOfRole(r.name, r.permissions),
  }));
  return {
    userId: row.id,
    tenantId: row.tenant_id,
    passwordChangeRequired: row.password_change_required === 1,
    roles,
  };
}

/**
 * The session behind an access token, joined to its user and tenant: the session must be live,
 * the user active and not being deleted, the tenant not being deleted. Reads select from it; write
 * batches test it with EXISTS (src/auth/guards.ts), so both apply the same rule.
 */
export function liveSessionFrom(tenantId: string, userId: string, sessionId: string, nowIso: string) {
  return sql`FROM sessions s
    JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
    JOIN tenants tn ON tn.id = u.tenant_id
    WHERE s.id = ${sessionId} AND s.tenant_id = ${tenantId} AND s.user_id = ${userId}
      AND s.revoked_at IS NULL AND s.expires_at > ${nowIso}
      AND u.deleted_at IS NULL AND u.is_active = 1 AND u.is_managed = 0
      AND tn.deleted_at IS NULL`;
}

/** The user behind an access token, in one indexed read (see `liveSessionFrom`). */
export function sessionPrincipalStatement(db: Db, tenantId: string, userId: string, sessionId: string, nowIso: string) {
  return db.get<RawPrincipalRow | undefined>(sql`
    SELECT u.id, u.tenant_id, u.password_change_required, ${rolesOfUser} AS roles
    ${liveSessionFrom(tenantId, userId, sessionId, nowIso)}`);
}

export async function findSessionPrincipal(
  db: Db,
  tenantId: string,
  userId: string,
  sessionId: string,
  nowIso: string,
): Promise<UserPrincipalRow | null> {
  return toPrincipalRow(await sessionPrincipalStatement(db, tenantId, userId, sessionId, nowIso));
}

/** The user an external identity provider's `sub` names, inside the tenant its claim names. */
export async function findExternalPrincipal(
  db: Db,
  tenant: string,
  externalId: string,
): Promise<UserPrincipalRow | null> {
  const row = await db.get<RawPrincipalRow>(sql`
    SELECT u.id, u.tenant_id, u.password_change_required, ${rolesOfUser} AS roles
    FROM tenants t
    JOIN users u ON u.tenant_id = t.id AND lower(u.external_id) = lower(${externalId}) AND u.external_id = ${externalId}
    WHERE (t.id = ${tenant} OR lower(t.slug) = lower(${tenant})) AND t.deleted_at IS NULL
      AND u.deleted_at IS NULL AND u.is_active = 1 AND u.is_managed = 0`);
  return toPrincipalRow(row);
}

export interface ApiKeyRow {
  id: string;
  tenantId: string | null;
  /** Who created the key (null when a key or a platform principal did). */
  userId: string | null;
  roles: RoleGrant[];
}

/** A live API key by the hash of its secret, with its roles' permissions resolved. */
export async function findApiKeyByHash(db: Db, hash: string, nowIso: string): Promise<ApiKeyRow | null> {
  const row = await db.get<{ id: string; tenant_id: string | null; user_id: string | null; roles: string }>(sql`
    SELECT k.id, k.tenant_id, k.user_id,
      (SELECT json_group_array(json_object('name', r.name, 'permissions', json(r.permissions)))
         FROM json_each(k.roles) j JOIN roles r ON r.tenant_id = k.tenant_id AND r.name = j.value) AS roles
    FROM api_keys k
    LEFT JOIN tenants t ON t.id = k.tenant_id
    WHERE k.hash = ${hash} AND (k.expires_at IS NULL OR k.expires_at > ${nowIso})
      AND (k.tenant_id IS NULL OR t.deleted_at IS NULL)
      -- A key dies with the user who created it, from the moment that user is marked deleted.
      AND NOT EXISTS (SELECT 1 FROM users owner WHERE owner.tenant_id = k.tenant_id AND owner.id = k.user_id
                      AND owner.deleted_at IS NOT NULL)`);
  if (!row) return null;
  const roles = (JSON.parse(row.roles) as RoleGrant[]).map((r) => ({
    name: r.name,
    permissions: permissionsOfRole(r.name, r.permissions),
  }));
  return { id: row.id, tenantId: row.tenant_id, userId: row.user_id, roles };
}

/** A live tenant by id or (case-insensitive) slug. */
export async function findTenantRef(db: Db, idOrSlug: string): Promise<string | null> {
  const row = await db.get<{ id: string }>(sql`
    SELECT id FROM tenants WHERE (id = ${idOrSlug} OR lower(slug) = lower(${idOrSlug})) AND deleted_at IS NULL`);
  return row?.id ?? null;
}
