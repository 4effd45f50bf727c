import type { Context } from "hono";
import type { Bindings } from "../env";
import type { ConsoleApi } from "./api";
import type { Caller } from "./caller";
import { saveBookmark } from "./session";

export interface ConsoleEnv {
  Bindings: Bindings;
  Variables: { api: ConsoleApi; caller: Caller };
}
export type ConsoleContext = Context<ConsoleEnv>;

/** The posted form: repeated names (checkboxes) as arrays. */
export async function formOf(c: ConsoleContext): Promise<Record<string, string | string[]>> {
  const body = await c.req.parseBody({ all: true });
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(body)) {
    if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === "string");
    else if (typeof v === "string") out[k] = v;
  }
  return out;
}

export const text = (form: Record<string, string | string[]>, name: string) => {
  const v = form[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() ?? "";
};

/** As typed: passwords are not trimmed. */
export const secret = (form: Record<string, string | string[]>, name: string) => {
  const v = form[name];
  return (Array.isArray(v) ? v[0] : v) ?? "";
};

export const list = (form: Record<string, string | string[]>, name: string) => {
  const v = form[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

/** POST → 303 → GET, keeping the bookmark of the write for the page that follows. */
export function redirectAfterWrite(c: ConsoleContext, to: string) {
  saveBookmark(c, c.get("api")?.bookmark);
  return c.redirect(to, 303);
}

/** Fixed messages for `?notice=`: the query names one, it never carries text of its own. */
export const NOTICES: Record<string, string> = {
  saved: "Saved.",
  created: "User created.",
  deleted: "User deleted.",
  activated: "User activated.",
  deactivated: "User deactivated.",
  "sessions-revoked": "All sessions of the user were revoked.",
  "session-revoked": "Session revoked.",
  "password-changed": "Password changed.",
  "signed-out": "You are signed out.",
  "role-created": "Role created.",
  "role-saved": "Role saved.",
  "role-deleted": "Role deleted.",
  "key-revoked": "API key revoked.",
  "webhook-saved": "Webhook saved.",
  "webhook-deleted": "Webhook deleted.",
  "webhook-tested": "Test delivery queued.",
  retried: "Delivery retried.",
};

export const noticeOf = (c: ConsoleContext) => NOTICES[c.req.query("notice") ?? ""] ?? null;
