import { and, eq, isNull, or, sql } from "drizzle-orm";
import { roles, tenants } from "../db/schema";
import type { Db } from "../env";
import { BUILTIN_ROLES } from "../auth/permissions";

export type TenantRow = typeof tenants.$inferSelect;

/** A live tenant by id or slug (slugs are case-insensitive). */
export function findTenant(db: Db, idOrSlug: string) {
  return db
    .select()
    .from(tenants)
    .where(
      and(
        or(eq(tenants.id, idOrSlug), sql`lower(${tenants.slug}) = lower(${idOrSlug})`),
        isNull(tenants.deletedAt),
      ),
    )
    .get();
}

/** The built-in role rows every tenant has (user_roles references them). */
export function insertBuiltinRoles(db: Db, tenantId: string, now: string) {
  return db.insert(roles).values(
    Object.entries(BUILTIN_ROLES).map(([name, r]) => ({
      tenantId,
      name,
      description: r.description,
      permissions: JSON.stringify(r.permissions),
      isBuiltin: true,
      createdAt: now,
      updatedAt: now,
    })),
  );
}

export const presentTenant = (t: TenantRow) => ({
  id: t.id,
  slug: t.slug,
  name: t.name,
  created_at: t.createdAt,
  updated_at: t.updatedAt,
});
