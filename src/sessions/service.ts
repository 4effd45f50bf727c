import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { can, type Principal } from "../auth/principal";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import { forbidden, notFound } from "../lib/errors";
import { preconditionFailed } from "../lib/etag";
import { callerHolds, needs, writeGuarded, type Check } from "../auth/guards";
import { editTarget, visibleUserGuard } from "../users/edit-checks";
import {
  cursorPage,
  keysetCondition,
  orderBy,
  parseSort,
  resolvePagination,
  type PaginationInput,
  type SortableField,
  numberedPage,
} from "../lib/pagination";
import { isoNow } from "../lib/time";
import type { UserRow } from "../users/repo";
import { readVisibleUser } from "../users/service";
import { liveSessionsQuery, revokeSessionsStatements, type SessionRow } from "./repo";

/** Newest first; `id` breaks ties. Served by `sessions_user_idx (tenant_id, user_id, created_at)`. */
const SESSION_FIELDS: Record<string, SortableField> = {
  created_at: { expr: sql`s.created_at`, read: (r) => String(r.created_at) },
  id: { expr: sql`s.id`, read: (r) => String(r.id) },
};
const SESSION_ORDER = parseSort(undefined, ["created_at", "id"], "-created_at");

/**
 * The user whose sessions are addressed: visible to the caller (else 404, as if absent), and
 * either the caller themselves or a holder of `permission` (else 403). `me` names the caller.
 */
async function sessionOwner(c: Context<AppEnv>, userId: string, permission: string): Promise<UserRow> {
  // Read together with the caller's own session check (one round trip, src/auth/deferred.ts).
  const target = await readVisibleUser(c, userId);
  const p = c.get("principal");
  if (target.id !== p.userId && !can(p, permission)) throw forbidden(`Missing permission ${permission}.`);
  return target;
}

const present = (p: Principal) => (row: SessionRow) => ({
  id: row.id,
  created_at: row.created_at,
  last_used_at: row.last_used_at,
  expires_at: row.expires_at,
  ip: row.ip,
  user_agent: row.user_agent,
  current: row.id === p.sessionId,
});

/** `GET /v1/users/{id}/sessions`: the user's live sessions (self or users:read). */
export async function listSessions(c: Context<AppEnv>, userId: string, q: PaginationInput) {
  const db = c.get("db");
  const target = await sessionOwner(c, userId, "users:read");
  const p = c.get("principal");
  const scope = `sessions:${target.tenant_id}:${target.id}`;
  const pagination = resolvePagination(q, scope);
  const base = liveSessionsQuery(target.tenant_id, target.id, isoNow());
  if (pagination.mode === "page") {
    const [rows, count] = await batch(db, [
      db.all<SessionRow>(sql`${base} ORDER BY ${orderBy(SESSION_ORDER, SESSION_FIELDS)}
        LIMIT ${pagination.pageSize} OFFSET ${(pagination.page - 1) * pagination.pageSize}`),
      db.get<{ total: number }>(sql`SELECT count(*) AS total FROM (${base})`),
    ]);
    return numberedPage(rows.map(present(p)), count?.total, pagination);
  }
  const after = pagination.cursor ? sql` AND ${keysetCondition(SESSION_ORDER, SESSION_FIELDS, pagination.cursor)}` : sql``;
  const rows = await db.all<SessionRow>(sql`${base}${after}
    ORDER BY ${orderBy(SESSION_ORDER, SESSION_FIELDS, pagination.cursor?.dir === "prev")} LIMIT ${pagination.limit + 1}`);
  return cursorPage(rows, pagination, SESSION_ORDER, SESSION_FIELDS, scope, present(p));
}

/**
 * The guard of a revocation: the user is visible to the caller (else 404) and either the caller
 * themselves or sessions:write is held (else 403); then `more`.
 */
function revocationGuard(c: Context<AppEnv>, userId: string, more: Check[] = []) {
  const { caller, tenantId, targetId } = editTarget(c, userId);
  const guard = visibleUserGuard(caller, targetId, [
    { ...needs(caller, "sessions:write"), refuses: sql`t.id IS NOT ${caller.userId} AND NOT ${callerHolds(caller, "sessions:write")}` },
    ...more,
  ]);
  return { guard, scope: { tenantId, userId: targetId } };
}

/**
 * If-Match where no answer carries a tag (a session, the list of a user's sessions): only `*`
 * can match, so any other tag is a 412 and nothing is revoked.
 */
function untaggedIfMatch(c: Context<AppEnv>): Check {
  const header = c.req.header("If-Match");
  return { refuses: header !== undefined && header.trim() !== "*", answer: preconditionFailed };
}

/** `DELETE /v1/users/{id}/sessions/{sid}` (self or sessions:write): 404 unless it is live and theirs. One round trip. */
export async function revokeSession(c: Context<AppEnv>, userId: string, sessionId: string): Promise<void> {
  const db = c.get("db");
  const { guard, scope } = revocationGuard(c, userId, [untaggedIfMatch(c)]);
  const now = isoNow();
  // The UPDATE itself says whether there was a live session of theirs to end.
  const [ended] = await writeGuarded<[D1Result]>(c, guard, [...revokeSessionsStatements(db, { ...scope, sessionId, liveAt: now }, "revoked", now)]);
  if (ended.meta.changes === 0) throw notFound("Session");
}

/** `DELETE /v1/users/{id}/sessions` (self or sessions:write): every session, the caller's own included. One round trip. */
export async function revokeAllSessions(c: Context<AppEnv>, userId: string): Promise<void> {
  const { guard, scope } = revocationGuard(c, userId, [untaggedIfMatch(c)]);
  await writeGuarded(c, guard, [...revokeSessionsStatements(c.get("db"), scope, "revoked")]);
}
