import { sql } from "drizzle-orm";
import { batch } from "../db/batch";
import type { Db } from "../env";
import { newId } from "../lib/ids";
import { isoNow } from "../lib/time";
import { idPerRowSql } from "../db/ids";

/**
 * Cascading deletes as bounded, idempotent steps. D1 itself is the work queue: a user marked
 * `deleted_at` is gone for every reader at once; the purge then removes marked users and
 * everything only they own, a chunk per batch, until none is left. Any step can be repeated
 * (a retried request, the coordinator's alarm) without harm.
 */
export const PURGE_CHUNK = 250;

/** The user and every user they manage, transitively. */
/** The root and everyone under it; with `rootVersion`, nobody unless the root is still at it. */
const managedTree = (tenantId: string, rootId: string, rootVersion?: number) => sql`WITH RECURSIVE tree(id) AS (
    ${rootVersion === undefined ? sql`SELECT ${rootId}` : sql`SELECT id FROM users WHERE tenant_id = ${tenantId} AND id = ${rootId} AND version = ${rootVersion}`}
    UNION SELECT u.id FROM users u JOIN tree ON u.tenant_id = ${tenantId} AND u.manager_id = tree.id
  )`;

/**
 * Marks a user and everyone they manage deleted, recording one `user.deleted` event each, in one
 * transaction. The last-owner trigger aborts it (→ 409) when it would leave the tenant ownerless.
 * Returns how many users were marked now (0 when a previous attempt already did, or when
 * `rootVersion` is given and the root has moved on from it: an If-Match in the same statement).
 */
export async function markUserTreeDeleted(db: Db, tenantId: string, rootId: string, rootVersion?: number): Promise<number> {
  const now = isoNow();
  const [, marked] = await batch(db, [
    db.run(sql`${managedTree(tenantId, rootId, rootVersion)}
      INSERT INTO events (id, tenant_id, type, data, created_at)
      SELECT ${idPerRowSql("evt", now)}, ${tenantId}, 'user.deleted',
             json_object('user_id', u.id, 'root_user_id', ${rootId}), ${now}
      FROM users u WHERE u.tenant_id = ${tenantId} AND u.id IN (SELECT id FROM tree) AND u.deleted_at IS NULL`),
    db.all<{ id: string }>(sql`${managedTree(tenantId, rootId, rootVersion)}
      UPDATE users SET deleted_at = ${now}, version = version + 1
      WHERE tenant_id = ${tenantId} AND id IN (SELECT id FROM tree) AND deleted_at IS NULL
      RETURNING id`),
  ]);
  return marked.length;
}

/** Marks a tenant deleted (invisible at once) and records the platform-level event; how many it marked (0 or 1). */
export async function markTenantDeleted(db: Db, tenantId: string, ifVersion?: number): Promise<number> {
  const now = isoNow();
  // With `ifVersion`, If-Match in the statement: a tenant that has moved on from it is not marked.
  const live = sql`id = ${tenantId} AND deleted_at IS NULL${ifVersion === undefined ? sql`` : sql` AND version = ${ifVersion}`}`;
  const [, marked] = await batch(db, [
    db.run(sql`INSERT INTO events (id, tenant_id, type, data, created_at)
      SELECT ${newId("evt")}, NULL, 'tenant.deleted', json_object('tenant_id', id, 'slug', slug), ${now}
      FROM tenants WHERE ${live}`),
    db.run(sql`UPDATE tenants SET deleted_at = ${now}, version = version + 1 WHERE ${live}`),
  ]);
  return marked.meta.changes;
}

/**
 * The next chunk of users to remove: marked users of the tenant (or all of them when the
 * tenant itself is being deleted). Managed users come first so deleting a manager's row never
 * cascades into an unbounded number of rows.
 */
export async function nextPurgeChunk(db: Db, tenantId: string, wholeTenant: boolean): Promise<string[]> {
  const rows = await db.all<{ id: string }>(sql`SELECT id FROM users
    WHERE tenant_id = ${tenantId} ${wholeTenant ? sql`` : sql`AND deleted_at IS NOT NULL`}
    ORDER BY manager_id IS NULL, id LIMIT ${PURGE_CHUNK}`);
  return rows.map((r) => r.id);
}

/** Removes the users of one chunk and every row only they own: one batch, one transaction. */
export async function purgeUsers(db: Db, tenantId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const list = JSON.stringify(ids);
  const inChunk = (column: string) => sql`${sql.raw(column)} IN (SELECT value FROM json_each(${list}))`;
  await batch(db, [
    db.run(sql`DELETE FROM refresh_tokens WHERE tenant_id = ${tenantId} AND ${inChunk("user_id")}`),
    db.run(sql`DELETE FROM sessions WHERE tenant_id = ${tenantId} AND ${inChunk("user_id")}`),
    db.run(sql`DELETE FROM api_keys WHERE tenant_id = ${tenantId} AND ${inChunk("user_id")}`),
    db.run(sql`DELETE FROM user_roles WHERE tenant_id = ${tenantId} AND ${inChunk("user_id")}`),
    db.run(sql`DELETE FROM shares WHERE tenant_id = ${tenantId} AND ${inChunk("owner_id")}`),
    db.run(sql`DELETE FROM shares WHERE tenant_id = ${tenantId} AND ${inChunk("grantee_id")}`),
    db.run(sql`DELETE FROM users WHERE tenant_id = ${tenantId} AND ${inChunk("id")}`),
  ]);
}

/** After its users are gone: the tenant's own rows, then the tenant. */
export async function purgeTenantRows(db: Db, tenantId: string): Promise<void> {
  await batch(db, [
    db.run(sql`DELETE FROM api_keys WHERE tenant_id = ${tenantId}`),
    db.run(sql`DELETE FROM roles WHERE tenant_id = ${tenantId}`),
    db.run(sql`DELETE FROM idempotency_keys WHERE tenant_id = ${tenantId}`),
    db.run(sql`DELETE FROM webhook_deliveries WHERE tenant_id = ${tenantId}`),
    db.run(sql`DELETE FROM webhook_endpoints WHERE tenant_id = ${tenantId}`),
    db.run(sql`DELETE FROM events WHERE tenant_id = ${tenantId}`),
    db.run(sql`DELETE FROM tenants WHERE id = ${tenantId}`),
  ]);
}

/** Tenants marked deleted whose rows are not all gone yet. */
export async function isTenantMarked(db: Db, tenantId: string): Promise<boolean> {
  const row = await db.get<{ n: number }>(sql`SELECT count(*) AS n FROM tenants WHERE id = ${tenantId} AND deleted_at IS NOT NULL`);
  return (row?.n ?? 0) > 0;
}
