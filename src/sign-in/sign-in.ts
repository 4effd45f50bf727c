import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { batch } from "../db/batch";
import type { AppEnv, Bindings, Db } from "../env";
import { sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { isoAfterSeconds, isoNow } from "../lib/time";
import {
  claimRefreshToken,
  findRefreshToken,
  isWellFormedRefreshToken,
  newSessionStatements,
  passwordChangeRequiredStatement,
  refreshTokenStatement,
  refreshTokenTtl,
  revokeSessionsStatements,
  touchSessionStatement,
} from "../sessions/repo";
import { configuredParams, hashPassword, verifyPassword } from "./password";
import {
  accountLimit,
  accountRule,
  addressRule,
  admit,
  clientAddress,
  reportFailure,
  reportSuccess,
  type Limit,
} from "./rate-limit";
import type { TokenInput, TokenPair } from "./schemas";
import { signAccessToken } from "../auth/tokens";

/**
 * Every failed sign-in, whatever the cause (unknown tenant or user, wrong password, inactive,
 * managed, no password, being deleted), answers with this one error: the bodies are identical
 * byte for byte, so a caller learns nothing about which accounts exist.
 */
const invalidCredentials = () => new ApiError("invalid_credentials", "The tenant, login or password is not correct.");
const invalidRefreshToken = () => new ApiError("invalid_refresh_token", "The refresh token is not valid. Sign in again.");

interface Login {
  column: "email" | "username";
  value: string;
}

interface Candidate {
  [column: string]: unknown;
  tenant_id: string;
  user_id: string | null;
  password_hash: string | null;
  is_active: number | null;
  is_managed: number | null;
  deleted_at: string | null;
  password_change_required: number | null;
}

/** The tenant (live, by id or slug) and the user its email or username names, in one read. */
function findCandidate(db: Db, tenant: string, login: Login) {
  return db.get<Candidate>(sql`SELECT t.id AS tenant_id, u.id AS user_id, u.password_hash, u.is_active, u.is_managed,
      u.deleted_at, u.password_change_required
    FROM tenants t
    LEFT JOIN users u ON u.tenant_id = t.id AND lower(u.${sql.raw(login.column)}) = lower(${login.value})
    WHERE (t.id = ${tenant} OR lower(t.slug) = lower(${tenant})) AND t.deleted_at IS NULL`);
}

const canSignIn = (c: Candidate | undefined): c is Candidate & { user_id: string; password_hash: string } =>
  !!c?.user_id && !!c.password_hash && c.is_active === 1 && c.is_managed === 0 && c.deleted_at === null;

function signInLimits(env: Bindings, input: TokenInput, login: Login, found: Candidate | undefined, ip: string | null) {
  const account: Limit = found?.user_id
    ? accountLimit(env, found.tenant_id, found.user_id)
    : {
        key: `login:acct:${found?.tenant_id ?? `?${input.tenant.toLowerCase()}`}:${login.column}:${login.value.toLowerCase()}`,
        rule: accountRule(env),
      };
  const address: Limit[] = ip ? [{ key: `login:ip:${ip}`, rule: addressRule(env) }] : [];
  return { account, address };
}

/** What the caller signs in with: the schema (TokenBody) lets exactly one of the two through. */
function loginOf(input: TokenInput): Login {
  const column = input.email !== undefined ? "email" : "username";
  return { column, value: input[column]! };
}

/**
 * `POST /v1/auth/token`. Order matters: the counters are charged before the password is checked
 * (so concurrent guesses cannot overrun them), and every path, the unknown user's included, runs
 * exactly one scrypt at the configured cost, so the answer's timing does not tell them apart.
 */
export async function signIn(c: Context<AppEnv>, input: TokenInput): Promise<TokenPair> {
  const env = c.env;
  const db = c.get("db");
  const login = loginOf(input);
  const now = Date.now();
  const found = await findCandidate(db, input.tenant, login);
  const { account, address } = signInLimits(env, input, login, found, clientAddress(c.req.raw.headers));
  const limits = [...address, account];
  await admit(env, limits, now);

  const params = configuredParams(env);
  const result = await verifyPassword(input.password, found?.password_hash ?? null, params);
  if (!result.ok || !canSignIn(found)) {
    await reportFailure(env, limits, now);
    throw invalidCredentials();
  }

  const rehashed = result.needsRehash ? await hashPassword(input.password, params) : null;
  const session = await newSessionStatements(
    db,
    env,
    { tenantId: found.tenant_id, userId: found.user_id, ip: clientAddress(c.req.raw.headers), userAgent: c.req.header("User-Agent") ?? null },
    now,
  );
  await batch(db, [
    recordSignIn(db, found, rehashed, isoNow(now)),
    ...session.statements,
  ]);
  await reportSuccess(env, [account], address);
  return tokenPair(env, found.tenant_id, found.user_id, session.sessionId, session.refreshToken, found.password_change_required === 1, now);
}

/** last_login_at, and a stronger hash when the parameters have risen (unless it changed meanwhile). */
function recordSignIn(db: Db, user: { tenant_id: string; user_id: string; password_hash: string }, rehashed: string | null, now: string) {
  const newHash = rehashed
    ? sql`CASE WHEN password_hash = ${user.password_hash} THEN ${rehashed} ELSE password_hash END`
    : sql`password_hash`;
  return db.run(sql`UPDATE users SET last_login_at = ${now}, password_hash = ${newHash}
    WHERE tenant_id = ${user.tenant_id} AND id = ${user.user_id}`);
}

async function tokenPair(
  env: Bindings,
  tenantId: string,
  userId: string,
  sessionId: string,
  refreshToken: string,
  passwordChangeRequired: boolean,
  now: number,
): Promise<TokenPair> {
  const { token, expiresIn } = await signAccessToken(env, { sub: userId, tid: tenantId, sid: sessionId }, now);
  return {
    access_token: token,
    token_type: "Bearer",
    expires_in: expiresIn,
    refresh_token: refreshToken,
    password_change_required: passwordChangeRequired,
  };
}

/**
 * `POST /v1/auth/refresh`: trades a refresh token for a new pair. A token that was already used
 * is evidence that it leaked (either the thief or the owner is replaying it), so the whole
 * session ends and both must sign in again.
 */
export async function refresh(c: Context<AppEnv>, presented: string): Promise<TokenPair> {
  const env = c.env;
  const db = c.get("db");
  if (!isWellFormedRefreshToken(presented)) throw invalidRefreshToken();
  const hash = await sha256Hex(presented);
  const nowMs = Date.now();
  const now = isoNow(nowMs);
  const claimed = await claimRefreshToken(db, hash, now);
  if (!claimed) {
    const known = await findRefreshToken(db, hash);
    if (known?.used_at) {
      await batch(
        db,
        revokeSessionsStatements(
          db,
          { tenantId: known.tenant_id, userId: known.user_id, sessionId: known.session_id },
          "refresh_token_reused",
          now,
        ),
      );
    }
    throw invalidRefreshToken();
  }
  const expiresAt = isoAfterSeconds(refreshTokenTtl(env), nowMs);
  const next = await refreshTokenStatement(
    db,
    { id: claimed.session_id, tenantId: claimed.tenant_id, userId: claimed.user_id },
    expiresAt,
    now,
  );
  const [, , user] = await batch(db, [
    next.statement,
    touchSessionStatement(db, claimed.session_id, now, expiresAt),
    passwordChangeRequiredStatement(db, claimed.tenant_id, claimed.user_id),
  ]);
  return tokenPair(env, claimed.tenant_id, claimed.user_id, claimed.session_id, next.token, user?.password_change_required === 1, nowMs);
}

/** `POST /v1/auth/logout`: ends the session the bearer token belongs to. */
export async function logout(c: Context<AppEnv>): Promise<void> {
  const p = c.get("principal");
  if (!p.sessionId || !p.userId || !p.tenantId) {
    throw new ApiError("forbidden", "Only a signed-in session can log out; API keys and external tokens have no session.");
  }
  await batch(c.get("db"), revokeSessionsStatements(c.get("db"), { tenantId: p.tenantId, userId: p.userId, sessionId: p.sessionId }, "logout"));
}
