import { Hono } from "hono";
import type { AppEnv } from "../env";
import { jsonBody } from "../lib/validate";
import { describe } from "../openapi/registry";
import { ConfirmResetBody, RequestResetAccepted, RequestResetBody } from "./schemas";
import { ACCEPTED, confirmReset, requestReset } from "./service";

/** Credential-less password resets (`/v1/password-resets`). */
export const resets = new Hono<AppEnv>();
const tags = ["Passwords"];

resets.post(
  "/",
  describe({
    summary: "Ask for a password reset (no credentials)",
    description:
      "Always the same 202 body, whether or not the email exists. For a live, active, unmanaged user with this email who signs in with a password (users created without one, e.g. identity-provider users, get none this way; an admin can still issue one), a reset token (1 hour) is issued unless one is already active, and handed over as a password_reset.requested event { user_id, email, reset_token, expires_at } that the application's mailer reads from GET /v1/events. Rate-limited per email (5 requests, then 429 with Retry-After and a growing lock-out) and per client address (the token bucket of sign-in: a burst of LOGIN_IP_MAX_FAILURES, one more every LOGIN_IP_REFILL_SECONDS, then 429 with Retry-After).",
    tags,
    security: "public",
    responses: {
      202: { description: "Accepted (whatever the outcome)", schema: RequestResetAccepted },
      429: { description: "rate_limited (Retry-After)" },
    },
  }),
  jsonBody(RequestResetBody),
  async (c) => {
    await requestReset(c, c.req.valid("json"));
    return c.json(ACCEPTED, 202);
  },
);

resets.post(
  "/confirm",
  describe({
    summary: "Set a new password with a reset token (no credentials)",
    description:
      "A token works once: of any number of concurrent confirms exactly one succeeds. Used, revoked, expired, unknown and malformed tokens all get 400 invalid_reset_token. Success sets the password, clears a temporary password, revokes every session of the user (session.revoked events), records user.password_changed, and lifts a sign-in lock-out of the account.",
    tags,
    security: "public",
    responses: { 204: { description: "The password is set" }, 400: { description: "invalid_reset_token" } },
  }),
  jsonBody(ConfirmResetBody),
  async (c) => {
    const body = c.req.valid("json");
    await confirmReset(c, body.reset_token, body.password);
    return c.body(null, 204);
  },
);
