import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import { describe } from "../openapi/registry";
import { presentPrincipal } from "./present";

/** `GET /v1/principal`: who the caller is, for clients that cannot use the RPC binding. */
export const principal = new Hono<AppEnv>();

const nullableId = z.string().nullable();

export const PrincipalSchema = z
  .object({
    kind: z.enum(["user", "api_key", "platform"]),
    tenant_id: nullableId.meta({ description: "The tenant the caller acts in: a platform key's is the one X-Tenant names, else null." }),
    user_id: nullableId.meta({ description: "A user's id; for an API key, the user who created it (null when a key or a platform principal did)." }),
    session_id: nullableId,
    key_id: nullableId.meta({ description: "An API key's id; null for users and for the bootstrap key." }),
    roles: z.array(z.string()),
    permissions: z.array(z.string()).meta({ description: "The grants of the roles, as granted (*, users:*, tasks:admin)." }),
    password_change_required: z.boolean(),
  })
  .meta({ id: "Principal" });

principal.get(
  "/",
  describe({
    summary: "The calling principal",
    description:
      "The caller as Workers RPC's authenticate() describes it (userplane/hono reads it in baseUrl mode): kind, tenant, user, session, key, roles and their permissions. Any valid credential may ask; a user with a temporary password gets 403 password_change_required, as on every route but the password change.",
    tags: ["Auth"],
    responses: { 200: { description: "The principal", schema: PrincipalSchema } },
  }),
  (c) => c.json(presentPrincipal(c.get("principal"))),
);
