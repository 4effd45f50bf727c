import { createHash } from "node:crypto";
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";
import { randomSecret } from "../lib/crypto";

/**
 * Password-reset tokens: one object per tenant (`idFromName(tenantId)`), tokens kept in its
 * SQLite storage as SHA-256 hashes only.
 *
 * A token is `rst_<tenant id>.<256 random bits>`: it names its own object, so redeeming it needs
 * no lookup table, and its hash covers the tenant too, so it means nothing to another tenant.
 *
 * Every method that decides something (issue, claim) is synchronous SQL with no `await` before
 * its write: a Durable Object runs one such call at a time, so "one active token per user" and
 * "exactly one of N concurrent confirms wins" hold without locks.
 */
export const RESET_TOKEN_PREFIX = "rst_";
const TOKEN_PATTERN = /^rst_(ten_[0-9a-hjkmnp-tv-z]{26})\.([A-Za-z0-9_-]{43})$/;

/** The tenant a well-formed token belongs to, or null for anything malformed. */
export function tenantOfResetToken(token: string): string | null {
  return TOKEN_PATTERN.exec(token)?.[1] ?? null;
}

const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");

export type IssueResult =
  | { issued: true; token: string; expiresAt: number }
  | { issued: false; reason: "active"; expiresAt: number };

export interface Claim {
  userId: string;
  /** When this claim marked the token used; `release` needs it to undo exactly this claim. */
  claimedAt: number;
}

export class ResetTokens extends DurableObject<Bindings> {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS tokens (
      hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL, used_at INTEGER, revoked_at INTEGER)`);
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user_id)");
    ctx.storage.sql.exec("CREATE INDEX IF NOT EXISTS tokens_expiry ON tokens (expires_at)");
  }

  /**
   * Issues a token for a user, unless one is still active (unused, unrevoked, unexpired):
   * then it answers `active`, or with `force` revokes the old one and issues anyway.
   */
  async issue(tenantId: string, userId: string, ttlSeconds: number, force: boolean, now: number): Promise<IssueResult> {
    const sql = this.ctx.storage.sql;
    const active = sql
      .exec<{ expires_at: number }>(
        "SELECT expires_at FROM tokens WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
        userId,
        now,
      )
      .toArray();
    if (active.length > 0 && !force) return { issued: false, reason: "active", expiresAt: active[0]!.expires_at };
    sql.exec("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL", now, userId);
    const token = `${RESET_TOKEN_PREFIX}${tenantId}.${randomSecret(256)}`;
    const expiresAt = now + ttlSeconds * 1000;
    sql.exec(
      "INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      hashOf(token),
      userId,
      now,
      expiresAt,
    );
    await this.scheduleCleanup(expiresAt);
    return { issued: true, token, expiresAt };
  }

  /**
   * Marks a token used, if it is active: the whole check-and-mark is one statement with nothing
   * awaited before it, so of any number of concurrent claims exactly one gets the user back.
   */
  claim(token: string, now: number): Claim | null {
    const row = this.ctx.storage.sql
      .exec<{ user_id: string }>(
        `UPDATE tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
         RETURNING user_id`,
        now,
        hashOf(token),
        now,
      )
      .toArray()[0];
    return row ? { userId: row.user_id, claimedAt: now } : null;
  }

  /**
   * Undoes a claim whose password write failed, so the user can try the same token again
   * (unless a newer token was issued meanwhile: then the old one stays spent).
   */
  release(token: string, claimedAt: number): boolean {
    const released = this.ctx.storage.sql.exec(
      `UPDATE tokens SET used_at = NULL WHERE hash = ? AND used_at = ? AND revoked_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM tokens other WHERE other.user_id = tokens.user_id AND other.hash <> tokens.hash
                         AND other.used_at IS NULL AND other.revoked_at IS NULL)`,
      hashOf(token),
      claimedAt,
    );
    return released.rowsWritten > 0;
  }

  /** Removes one token outright (its delivery failed, so nobody can hold it). */
  discard(token: string): void {
    this.ctx.storage.sql.exec("DELETE FROM tokens WHERE hash = ?", hashOf(token));
  }

  /** Revokes a user's unused tokens (their password just changed another way). */
  revokeForUser(userId: string, now: number): number {
    return this.ctx.storage.sql.exec(
      "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL",
      now,
      userId,
    ).rowsWritten;
  }

  /**
   * Deletes every token of these users. Called by the tenant coordinator's cascading delete
   * (issue 4) for each chunk of users it purges, before their rows leave D1; safe to repeat.
   */
  purgeUsers(userIds: string[]): number {
    if (userIds.length === 0) return 0;
    return this.ctx.storage.sql.exec(
      "DELETE FROM tokens WHERE user_id IN (SELECT value FROM json_each(?))",
      JSON.stringify(userIds),
    ).rowsWritten;
  }

  /**
   * Deletes everything this tenant's object holds (tokens and alarm). Called by the coordinator
   * when the whole tenant is deleted; safe to repeat.
   */
  async purgeAll(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    this.ctx.storage.sql.exec("DELETE FROM tokens");
  }

  /** Purges expired tokens (used, revoked or not) and re-arms for the next expiry. */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM tokens WHERE expires_at <= ?", Date.now());
    const next = sql.exec<{ next: number | null }>("SELECT min(expires_at) AS next FROM tokens").one().next;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async scheduleCleanup(expiresAt: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > expiresAt) await this.ctx.storage.setAlarm(expiresAt);
  }
}
