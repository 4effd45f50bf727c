import { Hono } from "hono";
import type { AppEnv } from "../env";
import { tenantOf, userOf } from "../auth/principal";
import { guarded } from "../lib/db-errors";
import { jsonBody } from "../lib/validate";
import { idempotent } from "../middleware/idempotency";
import { describe } from "../openapi/registry";
import { batch } from "../db/batch";
import { findVisibleUser } from "./repo";
import { presentUserWithAccess, userEtag } from "./present";
import { CreateManagedUserBody, UserWithAccess } from "./schemas";
import { createsUser, newUser, viewerOf } from "./service";

/** `POST /v1/users/me/managed-users`: child accounts that the caller manages. */
export const managedUsers = new Hono<AppEnv>();

managedUsers.post(
  "/me/managed-users",
  describe({
    summary: "Create a user you manage",
    description:
      "Any signed-in user may create managed (child) users: is_managed true, manager_id = you, no roles. Managed users cannot sign in and get no password or reset tokens. Their manager may GET, PUT, PATCH (names, metadata) and DELETE them; everyone without users:read gets 404.",
    tags: ["Users"],
    responses: { 201: { description: "The managed user", schema: UserWithAccess } },
  }),
  idempotent(),
  jsonBody(CreateManagedUserBody),
  async (c) => {
    const principal = c.get("principal");
    const managerId = userOf(principal);
    const tenantId = tenantOf(principal);
    const db = c.get("db");
    const body = c.req.valid("json");
    const user = newUser(tenantId, body, null, [], principal, managerId);
    const [, created] = await guarded(() => batch(db, [createsUser(db, user), findVisibleUser(db, viewerOf(principal), user.id)]));
    c.header("ETag", userEtag(created!));
    return c.json(presentUserWithAccess(created!), 201);
  },
);
