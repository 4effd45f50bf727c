import { eq, sql } from "drizzle-orm";
import { roles } from "../db/schema";
import type { Db } from "../env";
import { newId } from "../lib/ids";
import type { UserRow } from "../users/repo";
import type { UserState } from "./plan";

/** A users row as the import loads it: the columns it may change, and whether it is being deleted. */
export type LoadedRow = Pick<
  UserRow,
  | "id" | "username" | "email" | "first_name" | "last_name" | "is_active" | "manager_id" | "metadata" | "external_id"
  | "has_password" | "password_change_required" | "created_at" | "last_login_at" | "version" | "roles"
> & { deleted: number };

/** A user's role names as a JSON array, sorted (the column `roles` of user reads). */
const rolesOfU = sql`(SELECT json_group_array(role) FROM (SELECT ur.role FROM user_roles ur
    WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id ORDER BY ur.role)) AS roles`;

export interface LookupKeys {
  emails: string[];
  usernames: string[];
  externalIds: string[];
  ids: string[];
}

const each = (values: readonly string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(values)}))`;

/**
 * The tenant's users that any item could touch (by email, username, external id or id; manager
 * ids too), in one statement whatever the number of items: the keys travel as JSON arrays, so
 * the statement binds five parameters, far below D1's 100.
 */
export function findTouchedUsers(db: Db, tenantId: string, keys: LookupKeys) {
  return db.all<LoadedRow>(sql`SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.is_active, u.manager_id,
      u.metadata, u.external_id, (u.password_hash IS NOT NULL) AS has_password, u.password_change_required,
      u.created_at, u.last_login_at, u.version, (u.deleted_at IS NOT NULL) AS deleted, ${rolesOfU}
    FROM users u
    WHERE u.tenant_id = ${tenantId} AND (lower(u.email) IN ${each(keys.emails)} OR lower(u.username) IN ${each(keys.usernames)}
      OR lower(u.external_id) IN ${each(keys.externalIds)} OR u.id IN ${each(keys.ids)})`);
}

/** Of `ids`, those another tenant's user holds (user ids are unique across the deployment). */
export function findIdsElsewhere(db: Db, tenantId: string, ids: string[]) {
  return db.all<{ id: string }>(sql`SELECT id FROM users WHERE id IN ${each(ids)} AND tenant_id <> ${tenantId}`);
}

export const tenantRoles = (db: Db, tenantId: string) =>
  db.select({ name: roles.name, permissions: roles.permissions }).from(roles).where(eq(roles.tenantId, tenantId));

export function toState(row: LoadedRow): UserState {
  const held = JSON.parse(row.roles) as string[];
  return {
    origin: "existing",
    id: row.id,
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    is_active: row.is_active === 1,
    manager_id: row.manager_id,
    metadata: row.metadata,
    external_id: row.external_id,
    has_password: row.has_password === 1,
    password_change_required: row.password_change_required === 1,
    created_at: row.created_at,
    last_login_at: row.last_login_at,
    roles: held,
    loadedRoles: held,
    version: row.version,
    deleted: row.deleted === 1,
    changed: new Set(),
  };
}

export type ExportRow = UserRow & { password_hash: string | null };

/** The tenant's users after `afterId` in id order (managed, inactive and all), with their hashes. */
export function exportPage(db: Db, tenantId: string, afterId: string, limit: number) {
  return db.all<ExportRow>(sql`SELECT u.id, u.tenant_id, u.username, u.email, u.first_name, u.last_name, u.is_active,
      u.is_managed, u.manager_id, u.metadata, u.external_id, (u.password_hash IS NOT NULL) AS has_password,
      u.password_hash, u.password_change_required, u.created_at, u.updated_at, u.last_login_at, u.version, ${rolesOfU}
    FROM users u
    WHERE u.tenant_id = ${tenantId} AND u.deleted_at IS NULL AND u.id > ${afterId}
    ORDER BY u.id LIMIT ${limit}`);
}

/** D1 stores at most 2 MB in one value; each JSON parameter stays well below. */
const MAX_PARAM_BYTES = 900_000;

/** Splits rows into groups whose JSON stays under one parameter's budget. */
function chunked<T>(rows: T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 2;
  for (const row of rows) {
    const bytes = new TextEncoder().encode(JSON.stringify(row)).byteLength + 1;
    if (current.length > 0 && size + bytes > MAX_PARAM_BYTES) {
      chunks.push(current);
      current = [];
      size = 2;
    }
    current.push(row);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

const flag = (b: boolean) => (b ? 1 : 0);

function rowOf(u: UserState) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    first_name: u.first_name,
    last_name: u.last_name,
    is_active: flag(u.is_active),
    is_managed: flag(u.manager_id !== null),
    manager_id: u.manager_id,
    metadata: u.metadata,
    external_id: u.external_id,
    password_hash: u.password_hash,
    password_change_required: flag(u.password_change_required),
    created_at: u.created_at,
    last_login_at: u.last_login_at,
    version: u.version,
  };
}

const field = (name: string) => sql.raw(`json_extract(j.value, '$.${name}')`);

/**
 * The statements that write a planned import: a handful per chunk of users, never one per user.
 * Updates go first (they may free an email a created user takes), then the new users in input
 * order (a manager before the users they manage), their roles, and the events. The batch is one
 * transaction; an update whose user changed since it was loaded voids the whole batch (the guard
 * below turns a short row count into an error), and the caller then applies items one by one.
 */
export function importStatements(db: Db, tenantId: string, touched: UserState[], actor: unknown, now: string) {
  const created = touched.filter((u) => u.origin === "new");
  const updated = touched.filter((u) => u.origin === "existing" && u.changed.size > 0);
  const removed = updated.flatMap((u) => u.loadedRoles.filter((r) => !u.roles.includes(r)).map((r) => [u.id, r]));
  const added = [
    ...updated.flatMap((u) => u.roles.filter((r) => !u.loadedRoles.includes(r)).map((r) => [u.id, r])),
    ...created.flatMap((u) => u.roles.map((r) => [u.id, r])),
  ];
  const events = [
    ...created.map((u) => ({ id: newId("evt"), type: "user.created", data: JSON.stringify({ user_id: u.id, actor, imported: true }) })),
    ...updated.map((u) => ({
      id: newId("evt"),
      type: "user.updated",
      data: JSON.stringify({ user_id: u.id, fields: [...u.changed].sort(), actor, imported: true }),
    })),
  ];
  return [
    ...chunked(updated.map(rowOf)).flatMap((rows) => [
      db.run(sql`UPDATE users SET username = ${field("username")}, email = ${field("email")}, first_name = ${field("first_name")},
          last_name = ${field("last_name")}, is_active = ${field("is_active")}, metadata = ${field("metadata")},
          external_id = ${field("external_id")}, password_change_required = ${field("password_change_required")},
          created_at = ${field("created_at")}, last_login_at = ${field("last_login_at")},
          password_hash = CASE WHEN json_type(j.value, '$.password_hash') IS NULL THEN users.password_hash ELSE ${field("password_hash")} END,
          updated_at = ${now}, version = users.version + 1
        FROM json_each(${JSON.stringify(rows)}) AS j
        WHERE users.tenant_id = ${tenantId} AND users.id = ${field("id")} AND users.version = ${field("version")}
          AND users.deleted_at IS NULL`),
      // json() of a non-JSON text is an error, which rolls the batch back: the row count guard.
      db.run(sql`SELECT json(CASE WHEN changes() = ${rows.length} THEN '0' ELSE 'import_stale' END)`),
    ]),
    ...chunked(removed).map((pairs) =>
      db.run(sql`DELETE FROM user_roles WHERE tenant_id = ${tenantId}
        AND (user_id, role) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${JSON.stringify(pairs)}))`),
    ),
    ...chunked(created.map(rowOf)).map((rows) =>
      db.run(sql`INSERT INTO users (id, tenant_id, username, email, first_name, last_name, is_active, is_managed, manager_id,
          metadata, external_id, password_hash, password_change_required, created_at, updated_at, last_login_at)
        SELECT ${field("id")}, ${tenantId}, ${field("username")}, ${field("email")}, ${field("first_name")}, ${field("last_name")},
          ${field("is_active")}, ${field("is_managed")}, ${field("manager_id")}, ${field("metadata")}, ${field("external_id")},
          ${field("password_hash")}, ${field("password_change_required")}, ${field("created_at")}, ${now}, ${field("last_login_at")}
        FROM json_each(${JSON.stringify(rows)}) AS j ORDER BY j.key`),
    ),
    ...chunked(added).map((pairs) =>
      db.run(sql`INSERT INTO user_roles (tenant_id, user_id, role)
        SELECT ${tenantId}, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${JSON.stringify(pairs)})`),
    ),
    ...chunked(events).map((rows) =>
      db.run(sql`INSERT INTO events (id, tenant_id, type, data, created_at)
        SELECT ${field("id")}, ${tenantId}, ${field("type")}, ${field("data")}, ${now}
        FROM json_each(${JSON.stringify(rows)}) AS j ORDER BY j.key`),
    ),
  ];
}
