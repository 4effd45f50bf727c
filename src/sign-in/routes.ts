import { Hono } from "hono";
import type { AppEnv } from "../env";
import { jsonBody } from "../lib/validate";
import { describe } from "../openapi/registry";
import { RefreshBody, TokenBody, TokenResponse } from "./schemas";
import { logout, refresh, signIn } from "./sign-in";

/** Sign-in, refresh and logout (`/v1/auth`). */
export const auth = new Hono<AppEnv>();
const tags = ["Sign-in"];

auth.post(
  "/token",
  describe({
    summary: "Sign in with a password",
    description:
      "Exactly one of email or username (case-insensitive), in the tenant named by id or slug. Every failure (unknown tenant or user, wrong password, inactive, managed, no password) gets the same 401 invalid_credentials body. After LOGIN_MAX_FAILURES failures for one account (default 5) within LOGIN_WINDOW_SECONDS (default 15 minutes) the next attempts get 429 rate_limited with Retry-After, each lock-out lasting LOGIN_LOCKOUT_SECONDS · 2^(earlier lock-outs). One client address (CF-Connecting-IP) has a token bucket of failures: a burst of LOGIN_IP_MAX_FAILURES (default 100), then one more every LOGIN_IP_REFILL_SECONDS (default 864: 100 a day); an empty bucket answers 429 with Retry-After counting down to its next token. A success clears the account's count. With a temporary password, password_change_required is true and the token is good for POST /v1/users/me/password alone.",
    tags,
    security: "public",
    responses: {
      200: { description: "A new session: an access token and its refresh token", schema: TokenResponse },
      401: { description: "invalid_credentials" },
      429: { description: "rate_limited (Retry-After)" },
    },
  }),
  jsonBody(TokenBody),
  async (c) => c.json(await signIn(c, c.req.valid("json"))),
);

auth.post(
  "/refresh",
  describe({
    summary: "Trade a refresh token for a new pair",
    description:
      "A refresh token works once and is rotated on every use; the session's expiry slides forward by REFRESH_TOKEN_TTL_SECONDS. Replaying a token that was already used revokes its whole session (a session.revoked event with reason refresh_token_reused) and answers 401, as does an unknown, expired or revoked one.",
    tags,
    security: "public",
    responses: {
      200: { description: "A new access token and refresh token for the same session", schema: TokenResponse },
      401: { description: "invalid_refresh_token" },
    },
  }),
  jsonBody(RefreshBody),
  async (c) => c.json(await refresh(c, c.req.valid("json").refresh_token)),
);

auth.post(
  "/logout",
  describe({
    summary: "End this session",
    description:
      "Revokes the session of the bearer access token (its access and refresh tokens stop working at once) and records session.revoked. API keys and external identity-provider tokens have no session: 403.",
    tags,
    responses: { 204: { description: "The session is over" }, 403: { description: "forbidden: not a session token" } },
  }),
  async (c) => {
    await logout(c);
    return c.body(null, 204);
  },
);
