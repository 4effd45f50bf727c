import { Hono } from "hono";
import { sessionInBatch } from "../auth/deferred";
import type { AppEnv } from "../env";
import { pathParams, queryParams } from "../lib/validate";
import { describe } from "../openapi/registry";
import { UserIdParam } from "../users/schemas";
import { ListSessionsQuery, SessionList, SessionParams } from "./schemas";
import { listSessions, revokeAllSessions, revokeSession } from "./service";

/** A user's sessions (mounted at `/v1/users`). */
export const sessions = new Hono<AppEnv>();
const tags = ["Sessions"];

sessions.get(
  "/:id/sessions",
  describe({
    summary: "List a user's live sessions",
    description:
      "The user themselves, or users:read. The user must be visible to the caller, else 404; visible without users:read (a managed or sharing user) is 403. Newest first; cursor mode (limit, cursor) by default, page mode (page, page_size) adds total. current marks the session of the calling token.",
    tags,
    responses: { 200: { description: "A page of sessions", schema: SessionList } },
  }),
  sessionInBatch(),
  pathParams(UserIdParam),
  queryParams(ListSessionsQuery),
  async (c) => c.json(await listSessions(c, c.req.valid("param").id, c.req.valid("query"))),
);

sessions.delete(
  "/:id/sessions/:sid",
  describe({
    summary: "Revoke one session",
    description:
      "The user themselves, or sessions:write. Its access and refresh tokens stop working at once; a session.revoked event is recorded. 404 when the user is not visible or the session is not a live session of theirs. If-Match: no answer carries a session's ETag, so only * matches; any other tag is a 412 and the session lives on.",
    headers: ["If-Match"],
    tags,
    responses: { 204: { description: "Revoked" } },
  }),
  sessionInBatch(),
  pathParams(SessionParams),
  async (c) => {
    const { id, sid } = c.req.valid("param");
    await revokeSession(c, id, sid);
    return c.body(null, 204);
  },
);

sessions.delete(
  "/:id/sessions",
  describe({
    summary: "Revoke all of a user's sessions",
    description:
      "The user themselves (this session included), or sessions:write. One session.revoked event per session ended. 204 also when there was none. If-Match: the list of sessions carries no ETag, so only * matches; any other tag is a 412 and every session lives on.",
    headers: ["If-Match"],
    tags,
    responses: { 204: { description: "Revoked" } },
  }),
  sessionInBatch(),
  pathParams(UserIdParam),
  async (c) => {
    await revokeAllSessions(c, c.req.valid("param").id);
    return c.body(null, 204);
  },
);
