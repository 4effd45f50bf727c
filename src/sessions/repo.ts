import { sql, type SQL } from "drizzle-orm";
import { refreshTokens, sessions } from "../db/schema";
import type { Bindings, Db } from "../env";
import { randomSecret, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { isoAfterSeconds, isoNow } from "../lib/time";
import { idPerRowSql } from "../db/ids";

/**
 * Sessions and their refresh tokens. A session is one sign-in; its access tokens name it (`sid`)
 * and die with it. Refresh tokens are opaque (`rt_` + 256 random bits), stored only as SHA-256,
 * and work once: each use is one conditional UPDATE that marks it used and hands out the next.
 */
export const REFRESH_TOKEN_PREFIX = "rt_";
const REFRESH_TOKEN_PATTERN = /^rt_[A-Za-z0-9_-]{43}$/;

export const refreshTokenTtl = (env: Bindings) => Number(env.REFRESH_TOKEN_TTL_SECONDS) || 30 * 24 * 3600;

export const isWellFormedRefreshToken = (token: string) => REFRESH_TOKEN_PATTERN.test(token);

/** Why a session ended; carried by its `session.revoked` event. */
export type RevokeReason = "logout" | "revoked" | "password_changed" | "password_reset" | "refresh_token_reused";

export interface NewSession {
  tenantId: string;
  userId: string;
  ip: string | null;
  userAgent: string | null;
}

/** A fresh refresh token for a session: the secret for the client, the INSERT of its hash. */
export async function refreshTokenStatement(db: Db, session: { id: string; tenantId: string; userId: string }, expiresAt: string, now: string) {
  const token = REFRESH_TOKEN_PREFIX + randomSecret(256);
  const statement = db.insert(refreshTokens).values({
    hash: await sha256Hex(token),
    tenantId: session.tenantId,
    userId: session.userId,
    sessionId: session.id,
    createdAt: now,
    expiresAt,
  });
  return { token, statement };
}

/** The INSERTs of a new session and its first refresh token (put them in the sign-in batch). */
export async function newSessionStatements(db: Db, env: Bindings, s: NewSession, nowMs = Date.now()) {
  const now = isoNow(nowMs);
  const expiresAt = isoAfterSeconds(refreshTokenTtl(env), nowMs);
  const id = newId("ses", nowMs);
  const insertSession = db.insert(sessions).values({
    id,
    tenantId: s.tenantId,
    userId: s.userId,
    createdAt: now,
    lastUsedAt: now,
    expiresAt,
    ip: s.ip,
    userAgent: s.userAgent?.slice(0, 512) ?? null,
  });
  const refresh = await refreshTokenStatement(db, { id, tenantId: s.tenantId, userId: s.userId }, expiresAt, now);
  return { sessionId: id, refreshToken: refresh.token, statements: [insertSession, refresh.statement] as const };
}

/** Which of a user's live sessions a revocation ends. */
export interface RevokeScope {
  tenantId: string;
  userId: string;
  /** Only this session. */
  sessionId?: string;
  /** Every session but this one (the caller's own, when changing their password). */
  exceptSessionId?: string | null;
  /** Extra condition the batch's earlier change must have met (e.g. the password was written). */
  onlyIf?: SQL;
  /** Only sessions still live at this time (an expired session is as good as gone: 404). */
  liveAt?: string;
}

/** The scope as a condition on the sessions row named `t` (SQLite's UPDATE takes no alias). */
function scopeCondition(sc: RevokeScope, t: "sessions" | "s"): SQL {
  const col = (name: string) => sql.raw(`${t}.${name}`);
  const parts = [sql`${col("tenant_id")} = ${sc.tenantId}`, sql`${col("user_id")} = ${sc.userId}`];
  if (sc.sessionId !== undefined) parts.push(sql`${col("id")} = ${sc.sessionId}`);
  if (sc.exceptSessionId) parts.push(sql`${col("id")} <> ${sc.exceptSessionId}`);
  if (sc.onlyIf) parts.push(sc.onlyIf);
  if (sc.liveAt) parts.push(sql`${col("expires_at")} > ${sc.liveAt}`);
  return sql.join(parts, sql` AND `);
}

/**
 * Ends sessions and records one `session.revoked` event per session ended: two statements for
 * the caller's batch, so the change and its events commit together. The UPDATE stamps the
 * sessions with this batch's `now`, and the event INSERT picks exactly those rows.
 */
export function revokeSessionsStatements(db: Db, scope: RevokeScope, reason: RevokeReason, now = isoNow()) {
  return [
    db.run(sql`UPDATE sessions SET revoked_at = ${now} WHERE ${scopeCondition(scope, "sessions")} AND revoked_at IS NULL`),
    db.run(sql`INSERT INTO events (id, tenant_id, type, data, created_at)
      SELECT ${idPerRowSql("evt", now)}, s.tenant_id, 'session.revoked',
             json_object('user_id', s.user_id, 'session_id', s.id, 'reason', ${reason}), ${now}
      FROM sessions s WHERE ${scopeCondition(scope, "s")} AND s.revoked_at = ${now}
      ORDER BY s.created_at, s.id`),
  ] as const;
}

export interface ClaimedRefresh {
  session_id: string;
  tenant_id: string;
  user_id: string;
}

/**
 * Uses a refresh token: one conditional UPDATE that only an unused, unexpired token of a live
 * session of a user who may still sign in passes. Of two concurrent uses exactly one wins.
 */
export function claimRefreshToken(db: Db, hash: string, now: string) {
  return db.get<ClaimedRefresh>(sql`UPDATE refresh_tokens SET used_at = ${now}
    WHERE hash = ${hash} AND used_at IS NULL AND expires_at > ${now}
      AND EXISTS (SELECT 1 FROM sessions s
        JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
        JOIN tenants t ON t.id = s.tenant_id
        WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL AND s.expires_at > ${now}
          AND u.deleted_at IS NULL AND u.is_active = 1 AND u.is_managed = 0 AND t.deleted_at IS NULL)
    RETURNING session_id, tenant_id, user_id`);
}

/** A refresh token that exists but cannot be used: `used` says whether it was already spent. */
export function findRefreshToken(db: Db, hash: string) {
  return db.get<{ session_id: string; tenant_id: string; user_id: string; used_at: string | null }>(
    sql`SELECT session_id, tenant_id, user_id, used_at FROM refresh_tokens WHERE hash = ${hash}`,
  );
}

/** Slides a session's expiry forward on refresh and notes its use. */
export function touchSessionStatement(db: Db, sessionId: string, now: string, expiresAt: string) {
  return db.run(sql`UPDATE sessions SET last_used_at = ${now}, expires_at = ${expiresAt} WHERE id = ${sessionId}`);
}

/** Whether the user must change a temporary password (read after a refresh). */
export function passwordChangeRequiredStatement(db: Db, tenantId: string, userId: string) {
  return db.get<{ password_change_required: number }>(
    sql`SELECT password_change_required FROM users WHERE tenant_id = ${tenantId} AND id = ${userId}`,
  );
}

export interface SessionRow {
  [column: string]: unknown;
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}


/** The live sessions of a user, newest first (served by `sessions_user_idx`). */
export function liveSessionsQuery(tenantId: string, userId: string, now: string): SQL {
  return sql`SELECT s.id, s.created_at, s.last_used_at, s.expires_at, s.ip, s.user_agent FROM sessions s
    WHERE s.tenant_id = ${tenantId} AND s.user_id = ${userId} AND s.revoked_at IS NULL AND s.expires_at > ${now}`;
}
