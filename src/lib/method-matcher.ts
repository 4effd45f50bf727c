import type { Hono } from "hono";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const matchers = new WeakMap<object, { method: string; pattern: RegExp }[]>();

/** Hono route path (`/v1/users/:id`) → a regex for the concrete path. */
function toPattern(path: string): RegExp {
  const body = path
    .split("/")
    .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${body}/?$`);
}

/**
 * Methods that do have a handler on `path`: a non-empty answer turns a 404 into a 405. Only
 * routes with a method of their own count; `use()` middleware is registered as ALL.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function allowedMethods(app: Hono<any>, path: string): string[] {
  let table = matchers.get(app);
  if (!table) {
    table = app.routes
      .filter((r) => METHODS.includes(r.method))
      .map((r) => ({ method: r.method, pattern: toPattern(r.path) }));
    matchers.set(app, table);
  }
  const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
  return METHODS.filter((m) => methods.has(m));
}
