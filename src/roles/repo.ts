import { and, eq, inArray, sql } from "drizzle-orm";
import { roles } from "../db/schema";
import type { Db } from "../env";
import type { Principal } from "../auth/principal";
import { holds } from "../auth/permissions";
import { permissionsOfRole, type RoleGrant } from "../auth/repo";
import { forbidden, validationError } from "../lib/errors";

export type RoleRecord = typeof roles.$inferSelect;

/** The role rows a grant change needs: the named roles and the roles the user holds now. */
export function rolesStatement(db: Db, tenantId: string, names: readonly string[], holderId?: string) {
  const named = names.length ? inArray(roles.name, [...new Set(names)]) : sql`0`;
  const held = holderId
    ? sql`${roles.name} IN (SELECT role FROM user_roles WHERE tenant_id = ${tenantId} AND user_id = ${holderId})`
    : sql`0`;
  return db
    .select({ name: roles.name, permissions: roles.permissions })
    .from(roles)
    .where(and(eq(roles.tenantId, tenantId), sql`(${named} OR ${held})`));
}

/** Picks the named roles out of loaded rows; unknown names are a 422 on `field`. */
export function pickRoles(rows: Pick<RoleRecord, "name" | "permissions">[], names: readonly string[], field = "roles"): RoleGrant[] {
  const unique = [...new Set(names)];
  const missing = unique.filter((n) => !rows.some((r) => r.name === n));
  if (missing.length > 0) throw unknownRoles(missing, field);
  return rows.filter((r) => unique.includes(r.name)).map(toGrant);
}

export const unknownRoles = (names: readonly string[], field = "roles") =>
  validationError(names.map((n) => ({ path: field, message: `Unknown role "${n}".`, code: "unknown_role" })));

/** The named roles of a tenant with their permissions; unknown names are a 422 on `field`. */
export async function loadRoles(db: Db, tenantId: string, names: readonly string[], field = "roles"): Promise<RoleGrant[]> {
  if (names.length === 0) return [];
  return pickRoles(await rolesStatement(db, tenantId, names), names, field);
}

export const toGrant = (r: Pick<RoleRecord, "name" | "permissions">): RoleGrant => ({
  name: r.name,
  permissions: permissionsOfRole(r.name, JSON.parse(r.permissions) as string[]),
});

/*
 * The privilege rule, in one place: no principal hands out (or takes away) permissions it does
 * not hold, whether through a role grant, an API key or a role definition. Every route that can
 * change who holds what calls one of the assertions below before it writes.
 *
 * Why a check read before the write is enough here: the only concurrent change that could make
 * the check stale is another principal redefining a role at the same moment, and that principal
 * passed this same rule for the permissions it added. The outcome equals the legal order "grant
 * first, redefine second", so no interleaving yields permissions that no one was allowed to give.
 * Roles that vanish meanwhile are caught by the writes themselves (a foreign key for user grants,
 * a conditional INSERT for keys, a conditional DELETE for roles).
 */

/** The permissions in `wanted` that the principal does not hold (wildcards honoured). */
export function missingPermissions(principal: Principal, wanted: readonly string[]): string[] {
  return [...new Set(wanted)].filter((w) => !holds(principal.permissions, w));
}

/**
 * A principal may grant or revoke a role (to a user or an API key, or revoke a key carrying it)
 * only when it holds every permission that role carries.
 */
export function assertCanGrant(principal: Principal, grants: readonly RoleGrant[]): void {
  for (const grant of grants) {
    const missing = missingPermissions(principal, grant.permissions);
    if (missing.length > 0) throw cannotGrant(grant.name, missing);
  }
}

export const cannotGrant = (role: string, missing: readonly string[]) =>
  forbidden(`You cannot grant or revoke the role "${role}": it carries permissions you do not hold (${missing.join(", ")}).`);

/**
 * Acting on another user's way in (a reset token for them; a new email, username or external id
 * to sign in with; deactivating or deleting them) hands their access to the actor or takes it
 * away, so it needs what granting or revoking their roles needs. Without it an admin could reset
 * an owner's password and sign in as the owner.
 */
export function assertCanActOn(principal: Principal, targetId: string, held: readonly RoleGrant[], action: string): void {
  if (targetId === principal.userId) return;
  const missing = missingPermissions(principal, held.flatMap((g) => g.permissions));
  if (missing.length > 0) throw cannotActOn(action, missing);
}

export const cannotActOn = (action: string, missing: readonly string[]) =>
  forbidden(`You cannot ${action} a user whose roles carry permissions you do not hold (${missing.join(", ")}).`);

/** `assertCanActOn` for a user whose roles are not loaded yet (no read when the actor holds `*`). */
export async function assertCanActOnUser(db: Db, principal: Principal, tenantId: string, targetId: string, action: string) {
  if (targetId === principal.userId || missingPermissions(principal, ["*"]).length === 0) return;
  assertCanActOn(principal, targetId, (await rolesStatement(db, tenantId, [], targetId)).map(toGrant), action);
}

/**
 * A principal may define, redefine or delete a role only when it holds every permission the role
 * carries, before and after the change (taking a permission out of a role revokes it from every
 * holder, so it counts as much as adding one).
 */
export function assertCanDefine(principal: Principal, name: string, permissions: readonly string[]): void {
  const missing = missingPermissions(principal, permissions);
  if (missing.length > 0) throw cannotDefine(name, missing);
}

export const cannotDefine = (name: string, missing: readonly string[]) =>
  forbidden(`You cannot give or take the permissions ${missing.join(", ")} through the role "${name}": you do not hold them.`);

/* ---- Role rows ---- */

export function findRole(db: Db, tenantId: string, name: string) {
  return db.select().from(roles).where(and(eq(roles.tenantId, tenantId), eq(roles.name, name))).get();
}

/** The permissions of keys' roles that still exist (a key may outlive nothing but expired roles). */
export async function existingGrants(db: Db, tenantId: string, names: readonly string[]): Promise<RoleGrant[]> {
  if (names.length === 0) return [];
  const rows = await db
    .select({ name: roles.name, permissions: roles.permissions })
    .from(roles)
    .where(and(eq(roles.tenantId, tenantId), inArray(roles.name, [...new Set(names)])));
  return rows.map(toGrant);
}

export function insertRole(
  db: Db,
  tenantId: string,
  input: { name: string; description: string | null; permissions: string[] },
  now: string,
) {
  return db
    .insert(roles)
    .values({
      tenantId,
      name: input.name,
      description: input.description,
      permissions: JSON.stringify(input.permissions),
      isBuiltin: false,
      createdAt: now,
      updatedAt: now,
      // A role is named by its name alone, and a name can be deleted and made again: counting
      // from its creation's millisecond (not from 1) keeps a new role's tags apart from the old's.
      version: Date.parse(now),
    })
    .returning();
}

/** Changes a custom role (the batch's guard has checked version and privilege); its new row. */
export function updateRole(db: Db, tenantId: string, name: string, set: { description?: string | null; permissions?: string[] }, now: string) {
  return db
    .update(roles)
    .set({
      ...(set.description !== undefined ? { description: set.description } : {}),
      ...(set.permissions !== undefined ? { permissions: JSON.stringify(set.permissions) } : {}),
      updatedAt: now,
      version: sql`${roles.version} + 1`,
    })
    .where(and(eq(roles.tenantId, tenantId), eq(roles.name, name), eq(roles.isBuiltin, false)))
    .returning();
}

/**
 * Whether anyone holds the role: a user grant, or a live API key naming it. (A dead key naming it
 * cannot come back to life, so it does not count; the user_roles foreign key backs the first up.)
 */
export const roleInUseSql = (tenantId: string, name: string, nowIso: string) => sql`(
  EXISTS (SELECT 1 FROM user_roles ur WHERE ur.tenant_id = ${tenantId} AND ur.role = ${name})
  OR EXISTS (SELECT 1 FROM api_keys k, json_each(k.roles) j
             WHERE k.tenant_id = ${tenantId} AND j.value = ${name}
               AND (k.expires_at IS NULL OR k.expires_at > ${nowIso})))`;

/** Deletes a custom role (the batch's guard has checked that nobody holds it). */
export const deleteRoleStatement = (db: Db, tenantId: string, name: string) =>
  db.run(sql`DELETE FROM roles WHERE tenant_id = ${tenantId} AND name = ${name} AND is_builtin = 0`);
