import { Hono } from "hono";
import type { AppEnv } from "../env";
import { pathParams } from "../lib/validate";
import { describe } from "../openapi/registry";
import { UserIdParam } from "../users/schemas";
import { deleteUser } from "./service";

/** `DELETE /v1/users/{id}`, mounted under /v1/users. */
export const userDeletion = new Hono<AppEnv>();

userDeletion.delete(
  "/:id",
  describe({
    summary: "Delete a user and everything only they own",
    description:
      "Needs users:delete, or being the user's manager, or the user; deleting another user also needs every permission their roles carry (403 otherwise), so an admin cannot delete an owner. Deletes the user, every user they manage (transitively), and their sessions, refresh tokens, API keys, reset tokens, role grants and shares given and received; other users' data is untouched. The users are marked deleted first (invisible, cannot sign in, tokens and keys fail at once), then removed in bounded batches coordinated by a Durable Object; if that is interrupted, a retried DELETE (204) or the object's alarm finishes it. One user.deleted event per deleted user. Deleting the tenant's last active owner is a 409 last_owner.",
    tags: ["Users"],
    headers: ["If-Match"],
    responses: { 204: { description: "Deleted" } },
  }),
  pathParams(UserIdParam),
  async (c) => {
    await deleteUser(c, c.get("principal"), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
