import { Hono, type Context } from "hono";
import { sessionInBatch } from "../auth/deferred";
import type { AppEnv } from "../env";
import { listOf } from "../lib/pagination";
import { jsonBody, pathParams, queryParams } from "../lib/validate";
import { idempotent } from "../middleware/idempotency";
import { describe } from "../openapi/registry";
import type { RoleRecord } from "./repo";
import {
  CreateRoleBody,
  ListRolesQuery,
  PatchRoleBody,
  PermissionCheckQuery,
  PermissionCheckResult,
  Role,
  RoleNameParam,
} from "./schemas";
import { checkPermission, createRole, deleteRole, getRole, listRoles, patchRole, presentRole, roleEtag } from "./service";

/** Roles of a tenant: the built-in owner, admin and member, and the custom roles it defines. */
export const roles = new Hono<AppEnv>();
/** Permission checks of the caller itself. */
export const permissions = new Hono<AppEnv>();

const tags = ["Roles and permissions"];

function respondRole(c: Context<AppEnv>, role: RoleRecord, status: 200 | 201 = 200) {
  c.header("ETag", roleEtag(role));
  if (status === 201) c.header("Location", `/v1/roles/${encodeURIComponent(role.name)}`);
  return c.json(presentRole(role), status);
}

const PRIVILEGE_RULE =
  "No principal can give or take away permissions it does not hold: creating, changing or deleting a role needs every permission the role carries, before and after the change (403 otherwise).";

roles.get(
  "/",
  describe({
    summary: "List roles",
    description: "Needs roles:read. The tenant's built-in and custom roles, ordered by name, in cursor (limit, cursor) or page (page, page_size) mode.",
    tags,
    responses: { 200: { description: "A page of roles", schema: listOf(Role) } },
  }),
  queryParams(ListRolesQuery),
  async (c) => c.json(await listRoles(c, c.get("principal"), c.req.valid("query"))),
);

roles.post(
  "/",
  describe({
    summary: "Create a custom role",
    description: `Needs roles:write. Permissions are resource:action pairs, of the catalogue or the tenant's own (tasks:admin, chat:use), with the wildcards resource:* and *. ${PRIVILEGE_RULE} 409 conflict when the name is taken; 409 role_builtin for the names of built-in roles (owner, admin, member). Names are case-sensitive.`,
    tags,
    responses: { 201: { description: "The role", schema: Role } },
  }),
  sessionInBatch(),
  idempotent(),
  jsonBody(CreateRoleBody),
  async (c) => respondRole(c, await createRole(c, c.get("principal"), c.req.valid("json")), 201),
);

roles.get(
  "/:name",
  describe({
    summary: "Get a role",
    description: "Needs roles:read. 404 for a name the tenant does not have.",
    tags,
    responses: { 200: { description: "The role", schema: Role } },
  }),
  pathParams(RoleNameParam),
  async (c) => respondRole(c, await getRole(c, c.get("principal"), c.req.valid("param").name)),
);

roles.patch(
  "/:name",
  describe({
    summary: "Change a custom role",
    description: `Needs roles:write. A merge patch of description and permissions (which it replaces); the name cannot change. Holders of the role act with the new permissions at once. ${PRIVILEGE_RULE} Built-in roles cannot change: 409 role_builtin. Concurrent patches never conflict: each applies, in one transaction, to the role as it is when it reaches the database (description and permissions are each replaced by the last patch applied that names them), and each is checked against the permissions the role has at that moment. If-Match pins a version: a stale tag is a 412 and changes nothing.`,
    tags,
    headers: ["If-Match"],
    responses: { 200: { description: "The role", schema: Role } },
  }),
  sessionInBatch(),
  pathParams(RoleNameParam),
  jsonBody(PatchRoleBody),
  async (c) => respondRole(c, await patchRole(c, c.get("principal"), c.req.valid("param").name, c.req.valid("json"))),
);

roles.delete(
  "/:name",
  describe({
    summary: "Delete a custom role",
    description: `Needs roles:write. 409 role_in_use while any user or unexpired API key holds the role (nothing changes); 409 role_builtin for built-in roles. ${PRIVILEGE_RULE} If-Match honoured.`,
    tags,
    headers: ["If-Match"],
    responses: { 204: { description: "Deleted" } },
  }),
  sessionInBatch(),
  pathParams(RoleNameParam),
  async (c) => {
    await deleteRole(c, c.get("principal"), c.req.valid("param").name);
    return c.body(null, 204);
  },
);

permissions.get(
  "/check",
  describe({
    summary: "Check a permission of the caller",
    description:
      "Any authenticated principal may ask about itself: ?resource=…&action=… or ?permission=resource:action (action may be *; permission may be *). 200 {\"allowed\": true} when the caller holds it (wildcards honoured), 403 forbidden when not, 422 when the query is incomplete, invalid or mixes both forms.",
    tags,
    responses: { 200: { description: "Held", schema: PermissionCheckResult } },
  }),
  queryParams(PermissionCheckQuery),
  (c) => c.json(checkPermission(c.get("principal"), c.req.valid("query"))),
);
