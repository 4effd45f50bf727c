import { Hono } from "hono";
import { problemOf, query, type ApiAnswer, type Problem } from "./api";
import { formOf, list, noticeOf, redirectAfterWrite, secret, text, type ConsoleContext, type ConsoleEnv } from "./context";
import { mergePatchBetween, parseMetadata } from "./merge-diff";
import { userActions } from "./permissions-ui";
import { EMPTY_NEW_USER, NewUserPage, type NewUserDraft } from "./pages/new-user";
import { draftOf, UserPage, type ProfileDraft, type Share, type UserPageProps } from "./pages/user";
import { deleteRoutes } from "./delete-routes";
import type { CursorList, EventItem, SessionItem, User } from "./types";
import { recentEventsOf } from "./events-feed";
import { MissingPage } from "./pages/not-found";

/** `/console/users/new` and `/console/users/{id}` with its actions. */
export const userDetailPages = new Hono<ConsoleEnv>();

const userPath = (id: string) => `/v1/users/${encodeURIComponent(id)}`;

userDetailPages.get("/new", (c) => c.html(<NewUserPage caller={c.get("caller")} draft={EMPTY_NEW_USER} idempotencyKey={crypto.randomUUID()} />));

/** Sent with an Idempotency-Key from the form, so a double submit creates one user. */
userDetailPages.post("/new", async (c) => {
  const form = await formOf(c);
  const draft: NewUserDraft = {
    email: text(form, "email"),
    username: text(form, "username"),
    first_name: text(form, "first_name"),
    last_name: text(form, "last_name"),
    roles: list(form, "roles"),
    temporary: text(form, "temporary_password") === "true",
  };
  const password = secret(form, "password");
  const body: Record<string, unknown> = { roles: draft.roles };
  for (const key of ["email", "username", "first_name", "last_name"] as const) if (draft[key]) body[key] = draft[key];
  if (password) Object.assign(body, { password, temporary_password: draft.temporary });
  const key = text(form, "idempotency_key");
  const answer = await c.get("api").call<User>("POST", "/v1/users", { body, headers: key ? { "Idempotency-Key": key } : {} });
  if (!answer.ok) {
    return c.html(<NewUserPage caller={c.get("caller")} draft={draft} problem={problemOf(answer)} idempotencyKey={crypto.randomUUID()} />, answer.status as 422);
  }
  return redirectAfterWrite(c, `/console/users/${answer.body.id}?notice=created`);
});

userDetailPages.route("/", deleteRoutes);

/** Everything the user's page shows, read together (sessions, events only when the caller may). */
export async function loadUserPage(c: ConsoleContext, id: string): Promise<Omit<UserPageProps, "caller"> | ApiAnswer<unknown>> {
  const api = c.get("api");
  const caller = c.get("caller");
  const userAnswer = await api.get<User>(userPath(id));
  if (!userAnswer.ok) return userAnswer;
  const user = userAnswer.body;
  const actions = userActions(caller, user);
  const [sessions, managed, shares, events] = await Promise.all([
    actions.readSessions ? api.get<CursorList<SessionItem>>(`${userPath(user.id)}/sessions?limit=50`) : null,
    api.get<CursorList<User>>(`/v1/users${query({ manager_id: user.id, limit: 50 })}`),
    actions.self ? api.get<CursorList<Share>>("/v1/users/me/shares?limit=50") : null,
    actions.readEvents ? recentEventsOf(api, user.id) : null,
  ]);
  return {
    user,
    etag: userAnswer.headers.get("ETag") ?? "",
    actions,
    sessions: sessions?.ok ? sessions.body.items : null,
    managed: managed.ok ? managed.body.items.filter((m) => m.manager_id === user.id) : [],
    shares: shares?.ok ? shares.body.items : null,
    events: events as EventItem[] | null,
  };
}

const isAnswer = (v: unknown): v is ApiAnswer<unknown> => typeof (v as ApiAnswer<unknown>).status === "number";

/** The user's page, with whatever the last action left to say. */
async function renderUser(
  c: ConsoleContext,
  id: string,
  extra: { problem?: Problem | null; draft?: ProfileDraft; resetToken?: UserPageProps["resetToken"]; offerForcedReset?: boolean; status?: number } = {},
) {
  const loaded = await loadUserPage(c, id);
  if (isAnswer(loaded)) return notFound(c, loaded);
  const { status = 200, ...rest } = extra;
  return c.html(<UserPage caller={c.get("caller")} {...loaded} {...rest} notice={rest.problem ? null : noticeOf(c)} />, status as 200);
}

export function notFound(c: ConsoleContext, answer: ApiAnswer<unknown>) {
  return c.html(
    <MissingPage caller={c.get("caller")} problem={problemOf(answer)} />,
    answer.status as 404,
  );
}

userDetailPages.get("/:id", (c) => renderUser(c, c.req.param("id")));

/**
 * Save: the form's fields against the user as stored now, sent as a merge patch of what differs
 * with the ETag the form was rendered with (If-Match), so a stale form gets the API's 412.
 */
userDetailPages.post("/:id", async (c) => {
  const id = c.req.param("id");
  const form = await formOf(c);
  const draft: ProfileDraft = {
    first_name: text(form, "first_name"),
    last_name: text(form, "last_name"),
    username: text(form, "username"),
    email: text(form, "email"),
    metadata: secret(form, "metadata"),
    roles: list(form, "roles"),
  };
  const metadata = parseMetadata(draft.metadata);
  if ("error" in metadata) {
    const problem: Problem = { status: 422, code: "validation_failed", title: "Invalid metadata", detail: metadata.error, errors: [{ path: "metadata", message: metadata.error, code: "invalid_json" }] };
    return renderUser(c, id, { problem, draft, status: 422 });
  }
  const current = await c.get("api").get<User>(userPath(id));
  if (!current.ok) return notFound(c, current);
  const patch = profilePatch(current.body, draft, metadata.value, text(form, "roles_shown") === "1");
  const answer = await c.get("api").call("PATCH", userPath(id), { body: patch, headers: { "If-Match": text(form, "etag") } });
  if (answer.ok) return redirectAfterWrite(c, `/console/users/${id}?notice=saved`);
  // A stale form shows the user as stored now (with the 412's detail); other refusals keep what was typed.
  return renderUser(c, id, { problem: problemOf(answer), draft: answer.status === 412 ? undefined : draft, status: answer.status });
});

function profilePatch(user: User, draft: ProfileDraft, metadata: Record<string, never> | Record<string, unknown>, rolesShown: boolean) {
  const patch: Record<string, unknown> = {};
  for (const key of ["first_name", "last_name", "username", "email"] as const) {
    const value = draft[key] === "" ? null : draft[key];
    if (value !== user[key]) patch[key] = value;
  }
  const metadataPatch = mergePatchBetween(user.metadata as never, metadata as never);
  if (Object.keys(metadataPatch).length) patch.metadata = metadataPatch;
  const roles = [...new Set(draft.roles)].sort();
  if (rolesShown && roles.join() !== [...user.roles].sort().join()) patch.roles = roles;
  return patch;
}

userDetailPages.post("/:id/status", async (c) => {
  const id = c.req.param("id");
  const active = text(await formOf(c), "active") === "true";
  const answer = await c.get("api").call("PATCH", userPath(id), { body: { is_active: active } });
  if (!answer.ok) return renderUser(c, id, { problem: problemOf(answer), status: answer.status });
  return redirectAfterWrite(c, `/console/users/${id}?notice=${active ? "activated" : "deactivated"}`);
});

/** The token is in this answer only: the page is rendered from the POST, never stored. */
userDetailPages.post("/:id/reset-token", async (c) => {
  const id = c.req.param("id");
  const force = text(await formOf(c), "force") === "true";
  const answer = await c.get("api").call<{ reset_token: string; expires_at: string }>("POST", `${userPath(id)}/password-resets`, { body: force ? { force: true } : {} });
  if (!answer.ok) {
    return renderUser(c, id, { problem: problemOf(answer), offerForcedReset: answer.status === 409, status: answer.status });
  }
  return renderUser(c, id, { resetToken: { token: answer.body.reset_token, expiresAt: answer.body.expires_at }, status: 201 });
});

userDetailPages.post("/:id/sessions/revoke", async (c) => {
  const id = c.req.param("id");
  const answer = await c.get("api").call("DELETE", `${userPath(id)}/sessions`);
  if (!answer.ok) return renderUser(c, id, { problem: problemOf(answer), status: answer.status });
  return redirectAfterWrite(c, `/console/users/${id}?notice=sessions-revoked`);
});

userDetailPages.post("/:id/sessions/:sid/revoke", async (c) => {
  const { id, sid } = c.req.param();
  const answer = await c.get("api").call("DELETE", `${userPath(id)}/sessions/${encodeURIComponent(sid)}`);
  if (!answer.ok) return renderUser(c, id, { problem: problemOf(answer), status: answer.status });
  return redirectAfterWrite(c, `/console/users/${id}?notice=session-revoked`);
});
