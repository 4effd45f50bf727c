import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { configuredParams, hashPassword } from "../sign-in/password";
import {
  accountLimit,
  clientAddress,
  reportSuccess,
  resetAddressRule,
  resetEmailRule,
  spend,
  type Limit,
} from "../sign-in/rate-limit";
import { findTenantRef } from "../auth/repo";
import { batch } from "../db/batch";
import type { AppEnv, Bindings } from "../env";
import { recordEvent } from "../events/repo";
import { ApiError } from "../lib/errors";
import { setPasswordStatements } from "../passwords/repo";
import { tenantOfResetToken, type IssueResult } from "./reset-tokens";
import { DEFAULT_RESET_TTL_SECONDS } from "./schemas";

/** The reset-token object of a tenant. */
export const resetTokensOf = (env: Bindings, tenantId: string) => env.RESET_TOKENS.get(env.RESET_TOKENS.idFromName(tenantId));

export const invalidResetToken = () =>
  new ApiError("invalid_reset_token", "The reset token is not valid: it may be used, revoked, expired or mistyped.");

/** Issues a token under the one-at-a-time rule (see ResetTokens.issue). */
export function issueResetToken(env: Bindings, tenantId: string, userId: string, ttlSeconds: number, force: boolean, now = Date.now()): Promise<IssueResult> {
  return resetTokensOf(env, tenantId).issue(tenantId, userId, ttlSeconds, force, now);
}

export const ACCEPTED = {
  status: "accepted",
  message: "If this email belongs to an account that can sign in, a reset token is on its way.",
} as const;

/**
 * `POST /v1/password-resets`: the same 202 whatever happens. For a live, active, unmanaged user
 * with this email who signs in with a password (a user created without one, e.g. one who signs in
 * through an identity provider, is not given one this way) a token is issued (unless one is already active) and handed to the
 * application's mailer as a `password_reset.requested` event. If recording the event fails,
 * the token is thrown away, since nobody could ever receive it.
 */
export async function requestReset(c: Context<AppEnv>, input: { tenant: string; email: string }): Promise<void> {
  const env = c.env;
  const db = c.get("db");
  const now = Date.now();
  const tenantId = await findTenantRef(db, input.tenant);
  const ip = clientAddress(c.req.raw.headers);
  const limits: Limit[] = [
    ...(ip ? [{ key: `reset:ip:${ip}`, rule: resetAddressRule(env) }] : []),
    { key: `reset:email:${tenantId ?? `?${input.tenant.toLowerCase()}`}:${input.email.toLowerCase()}`, rule: resetEmailRule(env) },
  ];
  await spend(env, limits, now);
  if (!tenantId) return;

  const user = await db.get<{ id: string; email: string }>(sql`SELECT id, email FROM users
    WHERE tenant_id = ${tenantId} AND lower(email) = lower(${input.email})
      AND deleted_at IS NULL AND is_active = 1 AND is_managed = 0 AND password_hash IS NOT NULL`);
  if (!user) return;
  const result = await issueResetToken(env, tenantId, user.id, DEFAULT_RESET_TTL_SECONDS, false, now);
  if (!result.issued) return;
  try {
    await recordEvent(db, tenantId, "password_reset.requested", {
      user_id: user.id,
      email: user.email,
      reset_token: result.token,
      expires_at: new Date(result.expiresAt).toISOString(),
    });
  } catch (err) {
    await resetTokensOf(env, tenantId).discard(result.token);
    throw err;
  }
}

/**
 * `POST /v1/password-resets/confirm`. The token is claimed in its Durable Object first (exactly
 * one concurrent confirm gets past that line); only the winner hashes the password and writes it
 * with the session revocations in one D1 batch. If that write fails, the claim is released so the
 * token still works; if the user is gone, the token stays spent.
 */
export async function confirmReset(c: Context<AppEnv>, token: string, password: string): Promise<void> {
  const env = c.env;
  const tenantId = tenantOfResetToken(token);
  if (!tenantId) throw invalidResetToken();
  const tokens = resetTokensOf(env, tenantId);
  const claim = await tokens.claim(token, Date.now());
  if (!claim) throw invalidResetToken();

  let written: { id: string }[];
  try {
    const newHash = await hashPassword(password, configuredParams(env));
    [written] = await batch(c.get("db"), setPasswordStatements(c.get("db"), {
      tenantId,
      userId: claim.userId,
      newHash,
      keepSessionId: null,
      via: "reset",
    }));
  } catch (err) {
    await tokens.release(token, claim.claimedAt);
    throw err;
  }
  if (written.length === 0) throw invalidResetToken();
  // Proving control of the account lifts its sign-in lock-out.
  await reportSuccess(env, [accountLimit(env, tenantId, claim.userId)], []);
}
