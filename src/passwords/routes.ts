import { Hono } from "hono";
import type { AppEnv } from "../env";
import { jsonBody, pathParams } from "../lib/validate";
import { idempotent } from "../middleware/idempotency";
import { describe } from "../openapi/registry";
import { IssueResetBody, ResetToken } from "../resets/schemas";
import { UserIdParam } from "../users/schemas";
import { ChangePasswordBody } from "./schemas";
import { changeOwnPassword, issueResetForUser } from "./service";

/** Password changes and admin-issued reset tokens (mounted at `/v1/users`). */
export const passwords = new Hono<AppEnv>();
const tags = ["Passwords"];

passwords.post(
  "/me/password",
  describe({
    summary: "Change your password",
    description:
      "For every signed-in user, and the one route open to a temporary password. Clears password_change_required, keeps this session and revokes all others (session.revoked events), revokes an unused reset token, and records user.password_changed. A wrong current_password is 422 validation_failed naming current_password (code incorrect_password) and counts as a failed sign-in for the account (429 rate_limited after LOGIN_MAX_FAILURES); a user without a password gets 422 (code no_password) and sets one with a reset token; a new_password equal to the current one is 422. API keys: 403.",
    tags,
    responses: {
      204: { description: "Changed" },
      422: { description: "validation_failed (current_password or new_password)" },
      429: { description: "rate_limited (Retry-After)" },
    },
  }),
  jsonBody(ChangePasswordBody),
  async (c) => {
    await changeOwnPassword(c, c.req.valid("json"));
    return c.body(null, 204);
  },
);

passwords.post(
  "/:id/password-resets",
  describe({
    summary: "Issue a password-reset token for a user",
    description:
      "users:write, or the user themselves; for another user the caller also needs every permission that user's roles carry (403 otherwise: a reset token would hand over their access, so an admin cannot take over an owner). The user must be visible to the caller, else 404. Managed and inactive users cannot sign in: 409 conflict. While an unexpired, unused token exists: 409 reset_token_active, unless force revokes it. The token is shown once and stored only as a hash; redeem it at POST /v1/password-resets/confirm. A replayed Idempotency-Key answers with the first answer without reset_token, which is never stored in the clear (issue a new one with force: true).",
    tags,
    responses: {
      201: { description: "The token", schema: ResetToken },
      409: { description: "reset_token_active, or conflict (managed or inactive user)" },
    },
  }),
  idempotent({ omitFromReplay: ["reset_token"] }),
  pathParams(UserIdParam),
  jsonBody(IssueResetBody),
  async (c) => c.json(await issueResetForUser(c, c.req.valid("param").id, c.req.valid("json")), 201),
);
