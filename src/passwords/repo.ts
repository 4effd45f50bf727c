import { sql } from "drizzle-orm";
import type { Db } from "../env";
import { isoNow } from "../lib/time";
import { revokeSessionsStatements, type RevokeReason } from "../sessions/repo";
import { newId } from "../lib/ids";

export interface PasswordWrite {
  tenantId: string;
  userId: string;
  newHash: string;
  /** Only write if the stored hash is still this one (a change guarded against a concurrent one). */
  expectedHash?: string;
  /** Keep this session (the caller's own when changing their password); null revokes all. */
  keepSessionId: string | null;
  via: "change" | "reset";
  actor?: { kind: string; id: string | null };
}

/**
 * Sets a password as one batch: the new hash (clearing a temporary password), every other
 * session revoked, a `session.revoked` event per session and one `user.password_changed`.
 * The revocations and events are conditioned on the new hash being in place (a fresh salt makes
 * it unique), so if the user is gone or the guard fails nothing else happens either.
 * Returns the statements; the first answers the user id when the write happened.
 */
export function setPasswordStatements(db: Db, w: PasswordWrite, now = isoNow()) {
  const guard = w.expectedHash === undefined ? sql`` : sql` AND password_hash = ${w.expectedHash}`;
  const written = sql`EXISTS (SELECT 1 FROM users pw WHERE pw.tenant_id = ${w.tenantId} AND pw.id = ${w.userId}
    AND pw.password_hash = ${w.newHash})`;
  const reason: RevokeReason = w.via === "reset" ? "password_reset" : "password_changed";
  return [
    db.all<{ id: string }>(sql`UPDATE users SET password_hash = ${w.newHash}, password_change_required = 0,
        updated_at = ${now}, version = version + 1
      WHERE tenant_id = ${w.tenantId} AND id = ${w.userId} AND deleted_at IS NULL AND is_managed = 0${guard}
      RETURNING id`),
    ...revokeSessionsStatements(
      db,
      { tenantId: w.tenantId, userId: w.userId, exceptSessionId: w.keepSessionId, onlyIf: written },
      reason,
      now,
    ),
    db.run(sql`INSERT INTO events (id, tenant_id, type, data, created_at)
      SELECT ${newId("evt", Date.parse(now))}, ${w.tenantId}, 'user.password_changed',
        json_object('user_id', ${w.userId}, 'via', ${w.via}, 'actor', json(${JSON.stringify(w.actor ?? null)})), ${now}
      WHERE ${written}`),
  ] as const;
}

/** The stored hash of a user who may hold a password (live, not managed). */
export function findPasswordHolder(db: Db, tenantId: string, userId: string) {
  return db.get<{ id: string; password_hash: string | null }>(sql`SELECT id, password_hash FROM users
    WHERE tenant_id = ${tenantId} AND id = ${userId} AND deleted_at IS NULL AND is_managed = 0`);
}
