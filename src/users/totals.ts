import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../env";
import { filterConditions, usersSource, visibleUsersSource, type UserFilters, type Viewer } from "./repo";

/**
 * Page mode's `total` for `GET /v1/users`, exact and at the cost of its page rather than of the
 * tenant. Filters among is_active, is_managed and role are answered by the per-tenant counters
 * (`user_counts`, kept by the triggers of migrations/0004_list_counts.sql): at most four rows.
 * Any other filter narrows the count through its own index: username and email (unique: at most
 * one row), a search term of three or more characters (its trigram matches), manager_id (the
 * users of that manager). A search term of one or two characters has no trigram: it tests every
 * user of the tenant, as its list does. A caller without users:read counts only what they see.
 */
export function countUsersStatement(db: Db, viewer: Viewer, filters: UserFilters) {
  const wide = viewer.tenantWide;
  const total =
    wide === true
      ? tenantWideTotal(viewer.tenantId, filters)
      : wide === false
        ? visibleTotal(viewer, filters)
        : // The permission is decided in this same batch (src/auth/deferred.ts); CASE runs one branch.
          sql`CASE WHEN ${wide} THEN ${tenantWideTotal(viewer.tenantId, filters)} ELSE ${visibleTotal(viewer, filters)} END`;
  return db.get<{ total: number }>(sql`SELECT ${total} AS total`);
}

const searches = (f: UserFilters) => f.search !== undefined && f.search !== "";

/** Whether the counters alone answer these filters. */
const counted = (f: UserFilters) =>
  !searches(f) && f.username === undefined && f.email === undefined && f.managerId === undefined;

function tenantWideTotal(tenantId: string, f: UserFilters): SQL {
  if (counted(f)) {
    const flag = (column: SQL, value: boolean | undefined) => (value === undefined ? [] : [sql`${column} = ${value ? 1 : 0}`]);
    const where = sql.join(
      [sql`tenant_id = ${tenantId}`, sql`role = ${f.role ?? ""}`, ...flag(sql`is_active`, f.isActive), ...flag(sql`is_managed`, f.isManaged)],
      sql` AND `,
    );
    return sql`(SELECT coalesce(sum(n), 0) FROM user_counts WHERE ${where})`;
  }
  const where = sql.join([sql`u.tenant_id = ${tenantId}`, sql`u.deleted_at IS NULL`, ...filterConditions(f)], sql` AND `);
  return sql`(SELECT count(*) FROM ${usersSource(f)} WHERE ${where})`;
}

/**
 * What a caller without users:read sees: themselves, the users they manage and those who shared
 * with them (the list's visibility rule), counted from that set rather than from the tenant.
 */
function visibleTotal(viewer: Viewer, f: UserFilters): SQL {
  const me = viewer.userId;
  if (me === null) return sql`0`;
  const where = sql.join([sql`u.deleted_at IS NULL`, ...filterConditions(f)], sql` AND `);
  return sql`(SELECT count(*) FROM ${visibleUsersSource(viewer, me)} WHERE ${where})`;
}
