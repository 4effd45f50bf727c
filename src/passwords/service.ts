import type { Context } from "hono";
import { can, tenantOf, userOf } from "../auth/principal";
import { configuredParams, hashPassword, verifyPassword } from "../sign-in/password";
import { accountLimit, admit, reportFailure, reportSuccess } from "../sign-in/rate-limit";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import { assertCanActOnUser } from "../roles/repo";
import { ApiError, forbidden, notFound, validationError } from "../lib/errors";
import { issueResetToken, resetTokensOf } from "../resets/service";
import { DEFAULT_RESET_TTL_SECONDS, type IssueResetInput } from "../resets/schemas";
import { actorOf, getVisibleUser } from "../users/service";
import { findPasswordHolder, setPasswordStatements } from "./repo";
import type { ChangePasswordInput } from "./schemas";

const currentPasswordError = (message: string, code: string) =>
  validationError([{ path: "current_password", message, code }]);

/**
 * `POST /v1/users/me/password`. A wrong current password is a 422 naming `current_password`
 * (not a 401: the caller *is* authenticated, and a 401 would tell clients to sign in again),
 * and it counts against the account's sign-in budget, so a stolen access token cannot be used
 * to guess the password either. Keeps the caller's session, revokes all others, and revokes
 * any outstanding reset token.
 */
export async function changeOwnPassword(c: Context<AppEnv>, input: ChangePasswordInput): Promise<void> {
  const env = c.env;
  const db = c.get("db");
  const p = c.get("principal");
  const userId = userOf(p);
  const tenantId = tenantOf(p);
  if (input.new_password === input.current_password) {
    throw validationError([{ path: "new_password", message: "The new password must differ from the current one.", code: "unchanged" }]);
  }
  const holder = await findPasswordHolder(db, tenantId, userId);
  if (!holder) throw notFound("User");
  if (!holder.password_hash) {
    throw currentPasswordError("You have no password yet; set one with a reset token.", "no_password");
  }
  const now = Date.now();
  const limit = accountLimit(env, tenantId, userId);
  await admit(env, [limit], now);
  const params = configuredParams(env);
  const check = await verifyPassword(input.current_password, holder.password_hash, params);
  if (!check.ok) {
    await reportFailure(env, [limit], now);
    throw currentPasswordError("The current password is not correct.", "incorrect_password");
  }
  const newHash = await hashPassword(input.new_password, params);
  const [written] = await batch(
    db,
    setPasswordStatements(db, {
      tenantId,
      userId,
      newHash,
      expectedHash: holder.password_hash,
      keepSessionId: p.sessionId,
      via: "change",
      actor: actorOf(p),
    }),
  );
  if (written.length === 0) throw new ApiError("conflict", "The password changed meanwhile; try again.");
  await Promise.all([reportSuccess(env, [limit], []), resetTokensOf(env, tenantId).revokeForUser(userId, now)]);
}

/**
 * `POST /v1/users/{id}/password-resets` (users:write, or the user themselves). The target must be
 * visible (else 404); managed users and inactive users cannot sign in, so they get no token (409).
 */
export async function issueResetForUser(c: Context<AppEnv>, id: string, input: IssueResetInput) {
  const p = c.get("principal");
  const target = await getVisibleUser(c.get("db"), p, id === "me" ? userOf(p) : id);
  if (target.id !== p.userId && !can(p, "users:write")) throw forbidden("Missing permission users:write.");
  if (target.is_managed) throw new ApiError("conflict", "Managed users cannot sign in and get no reset tokens.");
  if (!target.is_active) throw new ApiError("conflict", "The user is inactive and cannot sign in; activate them first.");
  await assertCanActOnUser(c.get("db"), p, target.tenant_id, target.id, "issue a reset token for");
  const result = await issueResetToken(
    c.env,
    target.tenant_id,
    target.id,
    input.ttl_seconds ?? DEFAULT_RESET_TTL_SECONDS,
    input.force ?? false,
  );
  if (!result.issued) {
    throw new ApiError(
      "reset_token_active",
      `An unused reset token for this user is active until ${new Date(result.expiresAt).toISOString()}; send force: true to replace it.`,
    );
  }
  return { reset_token: result.token, expires_at: new Date(result.expiresAt).toISOString(), user_id: target.id };
}
