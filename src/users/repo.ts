import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../env";
import { liveSessionFrom, rolesOfUser } from "../auth/repo";
import { lastOwner } from "../lib/db-errors";
import type { SortableField } from "../lib/pagination";
import { sqliteLower } from "../db/sqlite-text";
import { SHARE_SCOPES } from "./schemas";

/** A users row as the list and lookup queries return it (snake_case, straight from SQL). */
/** The users columns of a UserRow, as an INSERT … RETURNING gives them back. */
export interface InsertedUserRow {
  [column: string]: unknown;
  id: string;
  tenant_id: string;
  username: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  is_active: number;
  is_managed: number;
  manager_id: string | null;
  metadata: string;
  external_id: string | null;
  has_password: number;
  password_change_required: number;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
  version: number;
}

export interface UserRow extends InsertedUserRow {
  roles: string;
  access: "self" | "managed" | "shared" | "tenant";
  share_scopes: string | null;
}

/** Who is looking, and how far their sight reaches. */
export interface Viewer {
  tenantId: string;
  /** The caller's own user id (null for API keys). */
  userId: string | null;
  /**
   * Holds `users:read`: sees every user of the tenant. An SQL condition when the permission is
   * not known yet because the session check rides in the same batch (src/auth/deferred.ts).
   */
  tenantWide: boolean | SQL;
  includeManaged: boolean;
  includeShared: boolean;
}

/** Every share scope, as the `share_scopes` of a user the viewer sees as self or manager. */
export const ALL_SCOPES = JSON.stringify(SHARE_SCOPES);

/** The users columns of a UserRow (the hash only as `has_password`) of the row aliased `u`. */
const USER_COLUMNS = sql.raw(`u.id, u.tenant_id, u.username, u.email, u.first_name, u.last_name, u.is_active,
  u.is_managed, u.manager_id, u.metadata, u.external_id, (u.password_hash IS NOT NULL) AS has_password,
  u.password_change_required, u.created_at, u.updated_at, u.last_login_at, u.version`);

/**
 * The one SELECT behind every user read: the user, their roles, and how the viewer sees them.
 * Visibility is part of the WHERE clause, so lists, lookups and counts can never disagree.
 */
function selectUsers(viewer: Viewer, from: SQL = sql`users u`): SQL {
  const me = viewer.userId;
  return sql`SELECT ${USER_COLUMNS},
      (SELECT json_group_array(role) FROM (SELECT ur.role FROM user_roles ur
         WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id ORDER BY ur.role)) AS roles,
      CASE WHEN u.id = ${me} THEN 'self' WHEN u.manager_id = ${me} THEN 'managed'
           WHEN sh.owner_id IS NOT NULL THEN 'shared' ELSE 'tenant' END AS access,
      CASE WHEN u.id = ${me} OR u.manager_id = ${me} THEN ${ALL_SCOPES} ELSE sh.scopes END AS share_scopes
    FROM ${from}
    LEFT JOIN shares sh ON sh.tenant_id = u.tenant_id AND sh.owner_id = u.id AND sh.grantee_id = ${me}`;
}

function visibility(viewer: Viewer): SQL {
  if (viewer.tenantWide === true) return sql`1`;
  const me = viewer.userId;
  const parts = viewer.tenantWide === false ? [] : [viewer.tenantWide];
  if (me === null) return parts.length ? parts[0]! : sql`0`;
  parts.push(sql`u.id = ${me}`);
  if (viewer.includeManaged) parts.push(sql`u.manager_id = ${me}`);
  if (viewer.includeShared) parts.push(sql`sh.owner_id IS NOT NULL`);
  return sql`(${sql.join(parts, sql` OR `)})`;
}

const baseWhere = (viewer: Viewer, visible = visibility(viewer)) =>
  sql`u.tenant_id = ${viewer.tenantId} AND u.deleted_at IS NULL AND ${visible}`;

export interface UserFilters {
  search?: string;
  isActive?: boolean;
  isManaged?: boolean;
  username?: string;
  email?: string;
  role?: string;
  managerId?: string;
}

/** Shorter terms have no trigram to look up. */
const TRIGRAM = 3;

/**
 * Case-insensitive substring match on username, first name, last name or email. Terms of three
 * or more characters go through the trigram index (a quoted FTS5 phrase: every character is
 * literal); shorter ones scan the tenant's users with LIKE.
 */
function searchCondition(term: string): SQL {
  if ([...term].length >= TRIGRAM) {
    const phrase = `"${term.replaceAll('"', '""')}"`;
    return sql`u.rowid IN (SELECT rowid FROM users_search WHERE users_search MATCH ${phrase})`;
  }
  const likes = (column: SQL) => sql.join(likePatterns(term).map((p) => sql`${column} LIKE ${p} ESCAPE '\\'`), sql` OR `);
  return sql`(${sql.join([sql`u.username`, sql`u.first_name`, sql`u.last_name`, sql`u.email`].map(likes), sql` OR `)})`;
}

/**
 * Whether the trigram index should lead the query. Left to itself, SQLite answers
 * `ORDER BY … LIMIT` by walking the tenant's sort index and testing each row against the search,
 * which costs the whole tenant when the term is rare (the usual search: one person). Reading the
 * matches by rowid and sorting them costs what the term matches instead. `NOT INDEXED` leaves
 * SQLite only that path; the rowid lookup is still allowed.
 */
export const searchLeads = (f: UserFilters) => f.search !== undefined && [...f.search].length >= TRIGRAM;

/**
 * Where a list or count of users reads from: the index of its narrowest filter, named rather than
 * left to the planner, which without statistics prefers walking a sort index of the whole tenant
 * and testing each row (a manager's few users, spread over 10,000, cost thousands of rows that
 * way). Username and email are unique (at most one row); a search of three or more characters
 * leads with its trigram matches; manager_id with that manager's users.
 */
export function usersSource(f: UserFilters): SQL {
  if (f.username !== undefined) return sql`users u INDEXED BY users_username_uq`;
  if (f.email !== undefined) return sql`users u INDEXED BY users_email_uq`;
  if (searchLeads(f)) return sql`users u NOT INDEXED`;
  if (f.managerId !== undefined) return sql`users u INDEXED BY users_manager_idx`;
  return sql`users u`;
}

/**
 * The LIKE patterns of a short term: `%` and `_` in it are literal, not wildcards. LIKE ignores
 * case for A–Z only (D1 has no ICU), so the term comes in each spelling of its other letters'
 * case, which with at most two characters is at most nine patterns ("ö" gives "%ö%" and "%Ö%").
 */
function likePatterns(term: string): string[] {
  let spellings = [""];
  for (const ch of term) {
    const cases = [...new Set([ch, ch.toLowerCase(), ch.toUpperCase()].map(sqliteLower))];
    spellings = spellings.flatMap((head) => cases.map((c) => head + c));
  }
  return spellings.map((s) => `%${s.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
}

export function filterConditions(f: UserFilters): SQL[] {
  const out: SQL[] = [];
  if (f.search !== undefined && f.search !== "") out.push(searchCondition(f.search));
  if (f.isActive !== undefined) out.push(sql`u.is_active = ${f.isActive ? 1 : 0}`);
  if (f.isManaged !== undefined) out.push(sql`u.is_managed = ${f.isManaged ? 1 : 0}`);
  if (f.username !== undefined) out.push(sql`lower(u.username) = lower(${f.username})`);
  if (f.email !== undefined) out.push(sql`lower(u.email) = lower(${f.email})`);
  if (f.managerId !== undefined) out.push(sql`u.manager_id = ${f.managerId}`);
  if (f.role !== undefined) {
    out.push(sql`EXISTS (SELECT 1 FROM user_roles fr WHERE fr.tenant_id = u.tenant_id AND fr.user_id = u.id AND fr.role = ${f.role})`);
  }
  return out;
}

/** A sort key as the index holds it: SQLite's lower() folds A–Z and leaves every other letter. */
const text = (column: string) => (row: Record<string, unknown>) => sqliteLower(String(row[column] ?? ""));

/** Sortable fields: each expression matches an index `(tenant_id, <expr>, id)`. */
export const USER_SORT_FIELDS: Record<string, SortableField> = {
  id: { expr: sql`u.id`, read: (r) => String(r.id) },
  created_at: { expr: sql`u.created_at`, read: (r) => String(r.created_at) },
  username: { expr: sql`coalesce(lower(u.username), '')`, read: text("username") },
  email: { expr: sql`coalesce(lower(u.email), '')`, read: text("email") },
  first_name: { expr: sql`coalesce(lower(u.first_name), '')`, read: text("first_name") },
  last_name: { expr: sql`coalesce(lower(u.last_name), '')`, read: text("last_name") },
  last_login_at: { expr: sql`coalesce(u.last_login_at, '')`, read: (r) => String(r.last_login_at ?? "") },
  is_active: { expr: sql`u.is_active`, read: (r) => Number(r.is_active) },
};

export interface ListQuery {
  viewer: Viewer;
  conditions: SQL[];
  source: SQL;
  order: SQL;
  limit: number;
  offset?: number;
}

/**
 * A page of users. A viewer with users:read walks the sort index (or the index its filter names)
 * and stops at the page. A viewer without it reads from the set they may see (themselves, their
 * managed users, those who shared with them) and sorts that set: walking the tenant's index and
 * testing each row would cost the whole tenant whenever they see fewer users than a page. When
 * the permission is decided in this same batch (src/auth/deferred.ts), both reads are in the
 * statement and the permission sets the LIMIT of each: the one it refuses gets 0, and SQLite reads
 * nothing for a LIMIT of 0 (the same test in its WHERE clause would be tried on every row it
 * walks: test/rows-read.test.ts holds the statement to reading only the visible set).
 */
export function listUsersStatement(db: Db, q: ListQuery) {
  const { tenantWide, userId } = q.viewer;
  if (tenantWide === true || userId === null) return db.all<UserRow>(tenantList(q));
  if (tenantWide === false) return db.all<UserRow>(visibleList(q, userId));
  return db.all<UserRow>(sql`SELECT * FROM (${tenantList(q, tenantWide)})
    UNION ALL SELECT * FROM (${visibleList(q, userId, sql`NOT ${tenantWide}`)})`);
}

/** The page's ORDER BY and LIMIT; a `when` that is false makes the LIMIT 0, which reads nothing. */
const pageOf = (q: ListQuery, when?: SQL) =>
  sql`ORDER BY ${q.order} LIMIT ${when ? sql`CASE WHEN ${when} THEN ${q.limit} ELSE 0 END` : q.limit} OFFSET ${q.offset ?? 0}`;

function tenantList(q: ListQuery, when?: SQL): SQL {
  const where = sql.join([baseWhere(q.viewer, when ? sql`1` : undefined), ...q.conditions], sql` AND `);
  return sql`${selectUsers(q.viewer, q.source)} WHERE ${where} ${pageOf(q, when)}`;
}

function visibleList(q: ListQuery, me: string, when?: SQL): SQL {
  const where = sql.join([sql`u.deleted_at IS NULL`, ...q.conditions], sql` AND `);
  return sql`${selectUsers(q.viewer, visibleUsersSource(q.viewer, me))} WHERE ${where} ${pageOf(q, when)}`;
}

/**
 * The users a viewer without users:read may see, as a source aliased `u`: the ids of the
 * visibility rule (self, managed, shared with them) joined to their rows. CROSS JOIN keeps the
 * id set as the outer loop, so each id costs one primary-key lookup.
 */
export function visibleUsersSource(viewer: Viewer, me: string): SQL {
  const sets = [sql`SELECT ${me} AS id`];
  if (viewer.includeManaged) sets.push(sql`SELECT id FROM users WHERE tenant_id = ${viewer.tenantId} AND manager_id = ${me}`);
  if (viewer.includeShared) sets.push(sql`SELECT owner_id FROM shares WHERE tenant_id = ${viewer.tenantId} AND grantee_id = ${me}`);
  return sql`(${sql.join(sets, sql` UNION `)}) v CROSS JOIN users u ON u.tenant_id = ${viewer.tenantId} AND u.id = v.id`;
}

/**
 * Whether a user's roles grant `permission`, in SQL. Role rows hold their permissions (built-in
 * rows are written from the code catalogue), so this agrees with the principal's permissions.
 */
export function userHolds(tenantId: string, userId: string, permission: `${string}:${string}`): SQL {
  const resource = permission.slice(0, permission.indexOf(":"));
  return sql`EXISTS (SELECT 1 FROM user_roles hr
    JOIN roles r ON r.tenant_id = hr.tenant_id AND r.name = hr.role
    JOIN json_each(r.permissions) p
    WHERE hr.tenant_id = ${tenantId} AND hr.user_id = ${userId}
      AND p.value IN ('*', ${`${resource}:*`}, ${permission}))`;
}

/**
 * For a refused removal (deactivation or deletion) of a user: the 409 last_owner when they are the
 * tenant's only active owner, which holds for anyone, else the refusal itself. The triggers of
 * migrations/0001_invariants.sql stay the guarantee; this only picks the answer.
 */
export async function lastOwnerOr(db: Db, tenantId: string, userId: string, refused: unknown): Promise<never> {
  throw (await isLastActiveOwner(db, tenantId, userId)) ? lastOwner() : refused;
}

async function isLastActiveOwner(db: Db, tenantId: string, userId: string): Promise<boolean> {
  const row = await db.get<{ last: number }>(sql`SELECT ${isLastActiveOwnerSql(tenantId, sql`${userId}`)} AS last`);
  return row?.last === 1;
}

/** Whether the user `userId` (an SQL value) is the tenant's only active owner. */
export function isLastActiveOwnerSql(tenantId: string, userId: SQL): SQL {
  return sql`(EXISTS (SELECT 1 FROM users u JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
        WHERE u.tenant_id = ${tenantId} AND u.id = ${userId} AND ur.role = 'owner' AND u.is_active = 1 AND u.deleted_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM users u JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
        WHERE u.tenant_id = ${tenantId} AND u.id <> ${userId} AND ur.role = 'owner' AND u.is_active = 1 AND u.deleted_at IS NULL))`;
}

/** One user as the viewer sees them, or undefined when not visible (→ 404). */
export function findVisibleUser(db: Db, viewer: Viewer, id: string) {
  return db.get<UserRow | undefined>(visibleUserSql(viewer, id));
}

/** The caller's own row read through their access token's session, and their role grants with permissions. */
export interface SelfWithGrants extends InsertedUserRow {
  grants: string;
  session_expires_at: string;
}

/**
 * `GET /v1/users/me` with its session check as one statement: the user is read through the live
 * session (`liveSessionFrom`, the rule every session check applies), with the grants that make
 * the principal. No row: the session has ended.
 */
export function selfThroughSession(db: Db, s: { tenantId: string; userId: string; sessionId: string; checkedAt: string }) {
  return db.get<SelfWithGrants | undefined>(sql`SELECT ${USER_COLUMNS}, ${rolesOfUser} AS grants, s.expires_at AS session_expires_at
    ${liveSessionFrom(s.tenantId, s.userId, s.sessionId, s.checkedAt)}`);
}

/** The SELECT of `findVisibleUser`, for write guards to read the user they check (src/auth/guards.ts). */
export const visibleUserSql = (viewer: Viewer, id: string) => sql`${selectUsers(viewer)} WHERE ${baseWhere(viewer)} AND u.id = ${id}`;

/** The same read as a statement to put at the end of a write batch (read-your-write, one trip). */
export const findVisibleUserStatement = findVisibleUser;
