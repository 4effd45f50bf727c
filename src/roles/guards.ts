import { sql, type SQL } from "drizzle-orm";
import { jsonArrayOf, missingPermissions, permissionsOfRoleRow, type Check } from "../auth/guards";
import { cannotDefine, cannotGrant, unknownRoles } from "./repo";
import { BUILTIN_ROLES, isBuiltinRole } from "../auth/permissions";

/*
 * The privilege rule of src/roles/repo.ts as checks of a write batch (src/auth/guards.ts): the
 * same refusals, decided by SQL on the state the batch changes.
 */

/** A JS list as rows of one column `value`, in its order. */
export const rowsOf = (values: readonly string[]) => sql`SELECT value FROM json_each(${JSON.stringify(values)})`;

/** Names among `names` (rows of `value`) that are no role of the tenant: 422 on `field`. */
export function knownRolesCheck(tenantId: string, names: SQL, field = "roles"): Check {
  const unknown = sql`SELECT DISTINCT n.value FROM (${names}) n
    WHERE n.value NOT IN (SELECT name FROM roles WHERE tenant_id = ${tenantId})`;
  return {
    refuses: sql`EXISTS (${unknown})`,
    evidence: jsonArrayOf(unknown),
    answer: (missing: string[]) => unknownRoles(missing, field),
  };
}

/** The roles among `names` carry only permissions the caller holds (granting or revoking them). */
export function grantCheck(tenantId: string, names: SQL): Check {
  const missing = missingPermissions(permissionsOfRoleRow("r"));
  const refused = sql`FROM roles r WHERE r.tenant_id = ${tenantId} AND r.name IN (${names}) AND EXISTS (${missing})`;
  return {
    refuses: sql`EXISTS (SELECT 1 ${refused})`,
    // The first refused role by name, as assertCanGrant walks them.
    evidence: sql`(SELECT json_object('role', r.name, 'missing', json(${jsonArrayOf(missing)})) ${refused} ORDER BY r.name LIMIT 1)`,
    answer: (e: { role: string; missing: string[] }) => cannotGrant(e.role, e.missing),
  };
}

/** Defining, redefining or deleting role `name` with `permissions` (rows of `value`) the caller must hold. */
export function defineCheck(name: string, permissions: SQL): Check {
  const missing = missingPermissions(permissions);
  return {
    refuses: sql`EXISTS (${missing})`,
    evidence: jsonArrayOf(missing),
    answer: (m: string[]) => cannotDefine(name, m),
  };
}

/**
 * The checks of granting `names` (a create's roles, an API key's): they exist (422 on `field`)
 * and carry only permissions the caller holds (403 on the first refused role by name). Built-in
 * roles exist in every tenant and cannot change, so a grant of built-ins only is decided on their
 * catalogue permissions, without reading roles: nothing at all for `member`, which carries none.
 */
export function roleGrantChecks(tenantId: string, names: readonly string[], field = "roles"): Check[] {
  if (!names.every(isBuiltinRole)) {
    const rows = rowsOf(names);
    return [knownRolesCheck(tenantId, rows, field), grantCheck(tenantId, rows)];
  }
  return [...new Set(names)]
    .sort()
    .filter((name) => BUILTIN_ROLES[name].permissions.length > 0)
    .map((name) => {
      const missing = missingPermissions(rowsOf(BUILTIN_ROLES[name].permissions));
      return {
        refuses: sql`EXISTS (${missing})`,
        evidence: jsonArrayOf(missing),
        answer: (m: string[]) => cannotGrant(name, m),
      };
    });
}
