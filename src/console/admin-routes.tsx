import { Hono } from "hono";
import { PERMISSION_CATALOGUE } from "../auth/permissions";
import { EVENT_TYPES } from "../events/repo";
import { problemOf, type ApiAnswer } from "./api";
import { formOf, list, noticeOf, redirectAfterWrite, text, type ConsoleContext, type ConsoleEnv } from "./context";
import { newestEvents } from "./events-feed";
import { ApiKeysPage } from "./pages/api-keys";
import { EventsPage } from "./pages/events";
import { RolesPage, type RolesPageProps } from "./pages/roles";
import type { ApiKeyItem, CursorList, NewApiKey, RoleItem } from "./types";

/** `/console/roles`, `/console/api-keys` and `/console/events`. */
export const adminPages = new Hono<ConsoleEnv>();

// --- roles -------------------------------------------------------------------------------------

/** The catalogue, the webhook pair, and whatever custom pairs the tenant's roles already use. */
function catalogueOf(roles: RoleItem[] | null): string[] {
  const known = new Set<string>([...PERMISSION_CATALOGUE, "webhooks:read", "webhooks:write"]);
  for (const r of roles ?? []) for (const p of r.permissions) if (p !== "*" && !p.endsWith(":*")) known.add(p);
  return [...known].sort();
}

async function renderRoles(c: ConsoleContext, extra: Partial<RolesPageProps> = {}, status = 200) {
  const answer = await c.get("api").get<CursorList<RoleItem>>("/v1/roles?limit=500");
  const roles = answer.ok ? answer.body.items : null;
  const problem = extra.problem ?? (answer.ok ? null : problemOf(answer));
  return c.html(
    <RolesPage caller={c.get("caller")} roles={roles} catalogue={catalogueOf(roles)} notice={noticeOf(c)} {...extra} problem={problem} />,
    (answer.ok ? status : answer.status) as 200,
  );
}

/** The picked checkboxes and the free field, as one list. */
function permissionsOf(form: Record<string, string | string[]>) {
  const other = text(form, "other_permissions");
  const typed = other.split(/[\s,]+/).filter(Boolean);
  return { permissions: [...new Set([...list(form, "permissions"), ...typed])], other };
}

adminPages.get("/roles", (c) => renderRoles(c));

adminPages.post("/roles", async (c) => {
  const form = await formOf(c);
  const { permissions, other } = permissionsOf(form);
  const name = text(form, "name");
  const description = text(form, "description");
  const answer = await c.get("api").call("POST", "/v1/roles", { body: { name, description: description || null, permissions } });
  if (!answer.ok) return renderRoles(c, { problem: problemOf(answer), draft: { name, description, permissions, other } }, answer.status);
  return redirectAfterWrite(c, "/console/roles?notice=role-created");
});

adminPages.post("/roles/:name", async (c) => {
  const form = await formOf(c);
  const description = text(form, "description");
  const answer = await c.get("api").call("PATCH", `/v1/roles/${encodeURIComponent(c.req.param("name"))}`, {
    body: { description: description || null, permissions: permissionsOf(form).permissions },
  });
  if (!answer.ok) return renderRoles(c, { problem: problemOf(answer) }, answer.status);
  return redirectAfterWrite(c, "/console/roles?notice=role-saved");
});

adminPages.post("/roles/:name/delete", async (c) => {
  const answer = await c.get("api").call("DELETE", `/v1/roles/${encodeURIComponent(c.req.param("name"))}`);
  if (!answer.ok) return renderRoles(c, { problem: problemOf(answer) }, answer.status);
  return redirectAfterWrite(c, "/console/roles?notice=role-deleted");
});

// --- API keys ----------------------------------------------------------------------------------

async function renderKeys(c: ConsoleContext, extra: { created?: NewApiKey; problem?: ApiAnswer<unknown> } = {}, status = 200) {
  const answer = await c.get("api").get<CursorList<ApiKeyItem>>("/v1/api-keys?limit=200");
  const problem = extra.problem ? problemOf(extra.problem) : answer.ok ? null : problemOf(answer);
  return c.html(
    <ApiKeysPage caller={c.get("caller")} keys={answer.ok ? answer.body.items : null} created={extra.created} problem={problem} notice={noticeOf(c)} />,
    (answer.ok ? status : answer.status) as 200,
  );
}

adminPages.get("/api-keys", (c) => renderKeys(c));

/** The key is in this answer only: the page is rendered from the POST. */
adminPages.post("/api-keys", async (c) => {
  const form = await formOf(c);
  const expires = text(form, "expires");
  const body = { name: text(form, "name"), roles: list(form, "roles"), ...(expires ? { expires_at: `${expires}T00:00:00Z` } : {}) };
  const answer = await c.get("api").call<NewApiKey>("POST", "/v1/api-keys", { body });
  if (!answer.ok) return renderKeys(c, { problem: answer }, answer.status);
  return renderKeys(c, { created: answer.body }, 201);
});

adminPages.post("/api-keys/:id/revoke", async (c) => {
  const answer = await c.get("api").call("DELETE", `/v1/api-keys/${encodeURIComponent(c.req.param("id"))}`);
  if (!answer.ok) return renderKeys(c, { problem: answer }, answer.status);
  return redirectAfterWrite(c, "/console/api-keys?notice=key-revoked");
});

// --- events ------------------------------------------------------------------------------------

const EVENTS_PER_PAGE = 50;

adminPages.get("/events", async (c) => {
  const raw = c.req.query("type") ?? "";
  const type = (EVENT_TYPES as readonly string[]).includes(raw) ? raw : "";
  const page = Math.max(1, Number.parseInt(c.req.query("page") ?? "1", 10) || 1);
  const window = await newestEvents(c.get("api"), { type: type || undefined, page, pageSize: EVENTS_PER_PAGE });
  if (!("items" in window)) {
    return c.html(
      <EventsPage caller={c.get("caller")} types={EVENT_TYPES} type={type} events={null} page={1} pages={1} total={0} problem={problemOf(window)} />,
      window.status as 403,
    );
  }
  return c.html(<EventsPage caller={c.get("caller")} types={EVENT_TYPES} type={type} events={window.items} page={window.page} pages={window.pages} total={window.total} />);
});

