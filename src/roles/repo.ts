import { and, eq, inArray } from "drizzle-orm";
import { roles } from "../db/schema";
import type { Db } from "../env";
import type { Principal } from "../auth/principal";
import { holdsAll } from "../auth/permissions";
import { permissionsOfRole, type RoleGrant } from "../auth/repo";
import { forbidden, validationError } from "../lib/errors";

/** The named roles of a tenant with their permissions; unknown names are a 422 on `field`. */
export async function loadRoles(db: Db, tenantId: string, names: readonly string[], field = "roles"): Promise<RoleGrant[]> {
  const unique = [...new Set(names)];
  if (unique.length === 0) return [];
  const rows = await db
    .select({ name: roles.name, permissions: roles.permissions })
    .from(roles)
    .where(and(eq(roles.tenantId, tenantId), inArray(roles.name, unique)));
  const missing = unique.filter((n) => !rows.some((r) => r.name === n));
  if (missing.length > 0) {
    throw validationError(
      missing.map((n) => ({ path: field, message: `Unknown role "${n}".`, code: "unknown_role" })),
    );
  }
  return rows.map((r) => ({ name: r.name, permissions: permissionsOfRole(r.name, JSON.parse(r.permissions) as string[]) }));
}

/**
 * The privilege rule, in one place: a principal may grant (or take away) a role only when it
 * holds every permission that role carries.
 */
export function assertCanGrant(principal: Principal, grants: readonly RoleGrant[]): void {
  for (const grant of grants) {
    if (!holdsAll(principal.permissions, grant.permissions)) {
      throw forbidden(`You cannot grant or revoke the role "${grant.name}": it carries permissions you do not hold.`);
    }
  }
}
