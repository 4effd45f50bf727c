import { sql } from "drizzle-orm";
import type { Db } from "../env";
import type { SortableField, SortTerm } from "../lib/pagination";

/** An api_keys row as the queries below return it (never the hash). */
export interface ApiKeyRow {
  [column: string]: unknown;
  id: string;
  tenant_id: string | null;
  user_id: string | null;
  name: string;
  roles: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
}

const COLUMNS = sql`id, tenant_id, user_id, name, roles, prefix, created_at, expires_at`;

/**
 * Where a key lives: a tenant, or `null` for platform keys. `tenant_id IS ?` matches both, and
 * every query names it first, so a key of another tenant (or a platform key) is simply absent.
 */
export type KeyScope = string | null;

export interface NewApiKey {
  id: string;
  tenantId: KeyScope;
  userId: string | null;
  name: string;
  roles: string[];
  hash: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
}

/**
 * Inserts the key only if every role it names still exists in its tenant, in one statement: a
 * role deleted between the privilege check and this write leaves no key naming a ghost role
 * (which a later role of the same name would otherwise bring back to life). Undefined when a
 * role is gone.
 */
export function insertKeyIfRolesExist(db: Db, k: NewApiKey) {
  const roles = JSON.stringify(k.roles);
  return db.get<ApiKeyRow | undefined>(sql`
    INSERT INTO api_keys (id, tenant_id, user_id, name, roles, hash, prefix, created_at, expires_at)
    SELECT ${k.id}, ${k.tenantId}, ${k.userId}, ${k.name}, ${roles}, ${k.hash}, ${k.prefix}, ${k.createdAt}, ${k.expiresAt}
    WHERE (SELECT count(*) FROM roles r WHERE r.tenant_id = ${k.tenantId}
             AND r.name IN (SELECT value FROM json_each(${roles}))) = ${k.roles.length}
    RETURNING ${COLUMNS}`);
}

export function findKey(db: Db, scope: KeyScope, id: string) {
  return db.get<ApiKeyRow | undefined>(sql`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id IS ${scope} AND id = ${id}`);
}

/** Deletes the key; from this statement on, the authenticate lookup no longer finds it. */
export async function deleteKey(db: Db, scope: KeyScope, id: string): Promise<boolean> {
  const rows = await db.all<{ id: string }>(sql`DELETE FROM api_keys WHERE tenant_id IS ${scope} AND id = ${id} RETURNING id`);
  return rows.length === 1;
}

/** Keys list oldest first; `(tenant_id, created_at, id)` is indexed. */
export const KEY_SORT: Record<string, SortableField> = {
  created_at: { expr: sql`created_at`, read: (r) => String(r.created_at) },
  id: { expr: sql`id`, read: (r) => String(r.id) },
};
export const KEY_ORDER: SortTerm[] = [
  { field: "created_at", desc: false },
  { field: "id", desc: false },
];

export function listKeysStatement(db: Db, scope: KeyScope, opts: { where?: ReturnType<typeof sql>; order: ReturnType<typeof sql>; limit: number; offset?: number }) {
  const extra = opts.where ? sql` AND ${opts.where}` : sql``;
  return db.all<ApiKeyRow>(sql`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id IS ${scope}${extra}
    ORDER BY ${opts.order} LIMIT ${opts.limit} OFFSET ${opts.offset ?? 0}`);
}

export function countKeysStatement(db: Db, scope: KeyScope) {
  return db.get<{ total: number }>(sql`SELECT count(*) AS total FROM api_keys WHERE tenant_id IS ${scope}`);
}
