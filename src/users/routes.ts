import { Hono } from "hono";
import type { AppEnv } from "../env";
import { idempotent } from "../middleware/idempotency";
import { describe } from "../openapi/registry";
import { listOf } from "../lib/pagination";
import { jsonBody, pathParams, queryParams } from "../lib/validate";
import { presentUserWithAccess, userEtag } from "./present";
import {
  CreateUserBody,
  ListUsersQuery,
  PatchMeBody,
  PatchUserBody,
  PutUserBody,
  UserIdParam,
  UserWithAccess,
} from "./schemas";
import { createUser, listUsers, patchUser, putUser, readVisibleUser } from "./service";
import { sessionInBatch } from "../auth/deferred";
import type { UserRow } from "./repo";
import type { Context } from "hono";

/** The users directory: list, create, read, merge-patch and replace. */
export const users = new Hono<AppEnv>();

const tags = ["Users"];

function respondUser(c: Context<AppEnv>, row: UserRow, status: 200 | 201 = 200) {
  c.header("ETag", userEtag(row));
  return c.json(presentUserWithAccess(row), status);
}

users.get(
  "/",
  describe({
    summary: "List the users visible to the caller",
    description:
      "Holders of users:read see every user of the tenant; everyone sees themselves, the users they manage (include_managed) and the users who shared access with them (include_shared). Cursor mode (limit, cursor) by default; page mode (page, page_size) adds total. A cursor keeps its sort and filters: reusing it with others is a 422.",
    tags,
    responses: { 200: { description: "A page of users", schema: listOf(UserWithAccess) } },
  }),
  sessionInBatch(),
  queryParams(ListUsersQuery),
  async (c) => c.json(await listUsers(c, c.req.valid("query"))),
);

users.post(
  "/",
  describe({
    summary: "Create a user",
    description:
      "Needs users:write. One of email, username or external_id is required; without a password the user cannot sign in with one. Roles default to [\"member\"]; granting a role needs every permission it carries. 409 on a duplicate email, username or external_id (case-insensitive within the tenant).",
    tags,
    responses: { 201: { description: "The created user", schema: UserWithAccess } },
  }),
  sessionInBatch(),
  idempotent(),
  jsonBody(CreateUserBody),
  async (c) => respondUser(c, await createUser(c, c.req.valid("json")), 201),
);

users.get(
  "/me",
  describe({
    summary: "The signed-in user",
    description:
      "Read through the caller's session: 401 once it is revoked or expired, or the user is deactivated or deleted. An isolate serves a repeated read for up to one second from what it last read for that session; any POST, PUT, PATCH or DELETE it handles ends that, the session's expiry is checked on every answer, and a refusal is never kept, so a change made through another isolate is seen within one second. Send X-Userplane-Bookmark or Cache-Control: no-cache (no-store, max-age=0) to read the database.",
    tags,
    responses: { 200: { description: "You", schema: UserWithAccess } },
  }),
  sessionInBatch(),
  async (c) => respondUser(c, await readVisibleUser(c, "me")),
);

users.patch(
  "/me",
  describe({
    summary: "Edit your own profile",
    description:
      "A JSON Merge Patch of first_name, last_name, username and metadata, with the rules of PATCH /v1/users/{id}: a patch that changes nothing writes nothing (same ETag, no event); concurrent patches without If-Match all apply (metadata merged in the database), If-Match pins a version (412 otherwise).",
    tags,
    headers: ["If-Match"],
    responses: { 200: { description: "You, updated", schema: UserWithAccess } },
  }),
  sessionInBatch(),
  jsonBody(PatchMeBody),
  async (c) => respondUser(c, await patchUser(c, "me", c.req.valid("json"))),
);

users.get(
  "/:id",
  describe({
    summary: "Get a user",
    description: "200 when the caller may see the user, otherwise 404 exactly as if it did not exist.",
    tags,
    responses: { 200: { description: "The user", schema: UserWithAccess } },
  }),
  sessionInBatch(),
  pathParams(UserIdParam),
  async (c) => respondUser(c, await readVisibleUser(c, c.req.valid("param").id)),
);

users.patch(
  "/:id",
  describe({
    summary: "Merge-patch a user (RFC 7396)",
    description:
      "application/merge-patch+json or application/json. Only present fields change; null clears a field; metadata merges deeply and null removes a key. username, email, is_active, roles and external_id need users:write; a manager (or a user granted profile:write by a share) may edit names and metadata; users may edit their own names, username and metadata. Changing another user's email, username or external_id, or deactivating them, needs every permission their roles carry (403 otherwise), as granting those roles would: an admin cannot take over an owner. Granting or revoking a role needs every permission it carries, and changing one's own roles also needs roles:write (so users:write alone never reshapes its holder's access; 403). A patch that changes nothing writes nothing: 200 with the same ETag and no user.updated event. Concurrent patches never conflict: without If-Match each is applied, in one transaction, to the user as it is when it reaches the database (metadata merged there with RFC 7396), so concurrent patches adding different metadata keys all keep their keys, and for a plain field the last one applied wins; with If-Match a patch applies only to the version its tag names (412 otherwise), so of concurrent patches sent with one tag exactly one applies.",
    tags,
    headers: ["If-Match"],
    responses: { 200: { description: "The updated user", schema: UserWithAccess } },
  }),
  sessionInBatch(),
  pathParams(UserIdParam),
  jsonBody(PatchUserBody),
  async (c) => respondUser(c, await patchUser(c, c.req.valid("param").id, c.req.valid("json"))),
);

users.put(
  "/:id",
  describe({
    summary: "Replace a user's profile",
    description: "Replaces first_name, last_name, username, email and metadata; absent fields become null ({} for metadata). Permissions as for PATCH, by the fields that actually change.",
    tags,
    headers: ["If-Match"],
    responses: { 200: { description: "The updated user", schema: UserWithAccess } },
  }),
  sessionInBatch(),
  pathParams(UserIdParam),
  jsonBody(PutUserBody),
  async (c) => respondUser(c, await putUser(c, c.req.valid("param").id, c.req.valid("json"))),
);
