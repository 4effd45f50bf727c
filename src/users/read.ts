import type { Context } from "hono";
import type { AppEnv, Db } from "../env";
import { can, tenantOf, userOf, type Principal } from "../auth/principal";
import { readWithSession, type PendingSession } from "../auth/deferred";
import { tenantIn, type WriteCaller } from "../auth/guards";
import { notFound } from "../lib/errors";
import { sha256Hex } from "../lib/crypto";
import {
  cursorPage,
  keysetCondition,
  orderBy,
  resolvePagination,
  sortForRequest,
  numberedPage,
} from "../lib/pagination";
import { countUsersStatement } from "./totals";
import {
  filterConditions,
  findVisibleUser,
  listUsersStatement,
  usersSource,
  USER_SORT_FIELDS,
  ALL_SCOPES,
  selfThroughSession,
  userHolds,
  type UserRow,
  type Viewer,
} from "./repo";
import { presentUserWithAccess } from "./present";
import { cachedSelf, rememberSelf, wantsFreshRead, type SessionKey } from "./self-cache";
import { fenceGeneration } from "../db/write-fence";
import { SORT_FIELDS, type ListUsersInput } from "./schemas";

/*
 * Reading users: lists and single users, each in one round trip with the session check.
 */

export function viewerOf(principal: Principal, opts: { includeManaged?: boolean; includeShared?: boolean } = {}): Viewer {
  return {
    tenantId: tenantOf(principal),
    userId: principal.userId,
    tenantWide: can(principal, "users:read"),
    includeManaged: opts.includeManaged ?? true,
    includeShared: opts.includeShared ?? true,
  };
}

/**
 * The viewer for a read whose session check rides in the same batch: who is asking comes from
 * the verified token; whether they hold users:read is decided by SQL in that same batch.
 */
export function batchedViewer(c: Context<AppEnv>, opts: { includeManaged?: boolean; includeShared?: boolean } = {}): Viewer {
  if (!c.get("pendingSession")) return viewerOf(c.get("principal"), opts);
  const { tenantId, userId } = c.get("caller");
  return {
    tenantId,
    userId,
    tenantWide: userHolds(tenantId, userId!, "users:read"),
    includeManaged: opts.includeManaged ?? true,
    includeShared: opts.includeShared ?? true,
  };
}

/** The viewer a write reads its user back as: tenant-wide, with access labels relative to the caller. */
export function writerViewer(caller: WriteCaller): Viewer {
  return { tenantId: tenantIn(caller), userId: caller.userId, tenantWide: true, includeManaged: true, includeShared: true };
}

/** `GET /v1/users`: one keyset (or page) query over exactly what the caller may see. */
export async function listUsers(c: Context<AppEnv>, q: ListUsersInput) {
  const db = c.get("db");
  const viewer = batchedViewer(c, { includeManaged: q.include_managed, includeShared: q.include_shared });
  const filters = {
    search: q.search,
    isActive: q.is_active,
    isManaged: q.is_managed,
    username: q.username,
    email: q.email,
    role: q.role,
    managerId: q.manager_id,
  };
  // The cursor is bound to who asked, in which tenant, with which filters.
  const scope = await listScope([viewer.tenantId, viewer.userId, viewer.includeManaged, viewer.includeShared, filters]);
  const pagination = resolvePagination(q, scope);
  const terms = sortForRequest(q.sort, pagination, SORT_FIELDS, "created_at,id");
  const conditions = filterConditions(filters);
  const source = usersSource(filters);

  if (pagination.mode === "page") {
    const order = orderBy(terms, USER_SORT_FIELDS);
    const [, [rows, count]] = await readWithSession<[UserRow[], { total: number } | undefined]>(c, [
      listUsersStatement(db, {
        viewer,
        conditions,
        source,
        order,
        limit: pagination.pageSize,
        offset: (pagination.page - 1) * pagination.pageSize,
      }),
      countUsersStatement(db, viewer, filters),
    ]);
    return numberedPage(rows.map(presentUserWithAccess), count?.total, pagination);
  }

  const cursor = pagination.cursor;
  const keyset = cursor ? [keysetCondition(terms, USER_SORT_FIELDS, cursor)] : [];
  const [, [rows]] = await readWithSession<[UserRow[]]>(c, [
    listUsersStatement(db, {
      viewer,
      conditions: [...conditions, ...keyset],
      source,
      order: orderBy(terms, USER_SORT_FIELDS, cursor?.dir === "prev"),
      limit: pagination.limit + 1,
    }),
  ]);
  return cursorPage(rows, pagination, terms, USER_SORT_FIELDS, scope, presentUserWithAccess);
}

/** The first 9 bytes of the SHA-256 of the parts, in hex. */
const listScope = async (parts: unknown[]) => (await sha256Hex(JSON.stringify(parts))).slice(0, 18);

/** `me` is the caller (API keys and platform keys have no "me": 403). */
export function targetOf(c: Context<AppEnv>, id: string): string {
  if (id !== "me") return id;
  return c.get("pendingSession") ? c.get("caller").userId! : userOf(c.get("principal"));
}

/**
 * `GET /v1/users/me` and `/{id}` in one round trip: the row is read as a tenant-wide viewer
 * would see it (with its access label relative to the caller), then hidden unless the caller
 * holds users:read or sees it as self, managed or shared — exactly the visibility rule.
 */
export async function readVisibleUser(c: Context<AppEnv>, id: string): Promise<UserRow> {
  const pending = c.get("pendingSession");
  if (id === "me" && pending) return readSelf(c, pending);
  const base = batchedViewer(c);
  const targetId = targetOf(c, id);
  const [principal, [row]] = await readWithSession<[UserRow | undefined]>(c, [
    findVisibleUser(c.get("db"), { ...base, tenantWide: true }, targetId),
  ]);
  if (!row || (row.access === "tenant" && !can(principal, "users:read"))) throw notFound("User");
  return row;
}

/**
 * `GET /v1/users/me` for a token whose session is still to check: one statement reads the user
 * through that session and settles the principal from the same row (a 401 when there is none).
 * A repeated read within a second is served from this isolate (src/users/self-cache.ts).
 */
async function readSelf(c: Context<AppEnv>, pending: PendingSession): Promise<UserRow> {
  const { tenantId, userId } = c.get("caller");
  const session = { tenantId, userId: userId!, sessionId: pending.sessionId };
  const found = await selfRow(c, session, pending.checkedAt);
  c.set("pendingSession", undefined);
  const principal = pending.settle(found && { ...found, roles: found.grants });
  const { grants: _, session_expires_at: __, ...row } = found!;
  c.set("principal", principal);
  return { ...row, roles: JSON.stringify([...principal.roles].sort()), access: "self", share_scopes: ALL_SCOPES };
}

/** The caller's row through their session: from this isolate's cache when it may be, else D1 (and cached). */
async function selfRow(c: Context<AppEnv>, session: SessionKey, checkedAt: string) {
  const fresh = wantsFreshRead(c);
  const readAt = Date.now();
  const hit = fresh ? undefined : cachedSelf(session, readAt);
  if (hit) {
    if (hit.bookmark) c.set("servedBookmark", hit.bookmark);
    return hit.row;
  }
  const generation = fenceGeneration();
  const row = await selfThroughSession(c.get("db"), { ...session, checkedAt });
  if (row) rememberSelf(session, { row, bookmark: c.get("bookmarkNow")() }, readAt, generation);
  return row;
}

/** A user the caller can see, or 404 exactly as if it did not exist. */
export async function getVisibleUser(db: Db, principal: Principal, id: string): Promise<UserRow> {
  const row = await findVisibleUser(db, viewerOf(principal), id);
  if (!row) throw notFound("User");
  return row;
}
