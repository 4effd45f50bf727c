import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { validator } from "hono/validator";
import type { z } from "zod";
import { type FieldError, validationError } from "./errors";
import { recordDoc, type RouteDoc } from "../openapi/registry";
import type { AppEnv } from "../env";

type Target = "json" | "query" | "param";

/** zod issues → the contract's `errors[{ path, message, code }]`, one entry per bad field. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: [...base, key].join("."),
        message: `Unknown field "${key}".`,
        code: "unrecognized_key",
      }));
    }
    // A refinement may name its own code (`params: { code: "invalid_webhook_url" }`).
    const code = issue.code === "custom" && typeof issue.params?.code === "string" ? issue.params.code : issue.code;
    return [{ path: base.join("."), message: issue.message, code }];
  });
}

interface Spec {
  target: Target;
  schema: z.ZodType;
}

/** Validator middleware → what it checks, so the first validator of a route can check them all. */
const specs = new WeakMap<object, Spec>();
/** Per request: every target's parsed value, once the route's validators have all passed. */
const validated = new WeakMap<Context, Map<Target, unknown>>();

/**
 * The validators of the route being served: the handlers after the current one that belong to
 * the same registration (Hono keeps one route entry per handler, all with its method and path).
 */
function routeSpecs(c: Context): Spec[] {
  const routes = matchedRoutes(c);
  const current = routes[c.req.routeIndex];
  if (!current) return [];
  const found: Spec[] = [];
  for (let i = c.req.routeIndex; i < routes.length; i++) {
    const r = routes[i]!;
    if (r.method !== current.method || r.path !== current.path) break;
    const spec = specs.get(r.handler);
    if (spec) found.push(spec);
  }
  return found;
}

/** The raw value a target holds, read the way Hono's validator reads it. */
async function rawValue(c: Context, target: Target): Promise<unknown> {
  if (target === "param") return c.req.param();
  if (target === "query") {
    return Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
  }
  // The body guard has already refused non-JSON bodies and read an empty one as `{}`.
  const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim();
  return /^application\/([\w.-]+\+)?json$/i.test(mediaType) ? c.req.json() : {};
}

/**
 * Checks path, query and body of the route at once, so one 422 names every bad field of the
 * request, wherever it is; nothing runs between validators with half-checked input.
 */
async function validateRoute(c: Context, own: Spec, ownValue: unknown): Promise<Map<Target, unknown>> {
  const all = routeSpecs(c);
  if (!all.includes(own)) all.unshift(own);
  const results = new Map<Target, unknown>();
  const errors: FieldError[] = [];
  for (const spec of all) {
    const value = spec === own ? ownValue : await rawValue(c, spec.target);
    const parsed = await spec.schema.safeParseAsync(value);
    if (parsed.success) results.set(spec.target, parsed.data);
    else errors.push(...fieldErrors(parsed.error.issues));
  }
  if (errors.length > 0) throw validationError(errors);
  validated.set(c, results);
  return results;
}

/**
 * A validator with the one failure answer the API gives: a 422 problem naming every bad field
 * of the request (its path, query and body together). The schema is also recorded for the
 * OpenAPI document, so validation and docs never drift.
 */
function validate<T extends z.ZodType, K extends Target>(target: K, schema: T) {
  const spec: Spec = { target, schema };
  const mw = validator(target, async (value, c): Promise<z.output<T>> => {
    const results = validated.get(c) ?? (await validateRoute(c, spec, value));
    return results.get(target) as z.output<T>;
  }) as MiddlewareHandler<
    AppEnv,
    string,
    { in: { [P in K]: z.input<T> }; out: { [P in K]: z.output<T> } }
  >;
  specs.set(mw, spec);
  recordDoc(mw as MiddlewareHandler, { [target]: schema } as Partial<RouteDoc>);
  return mw;
}

export const jsonBody = <T extends z.ZodType>(schema: T) => validate("json", schema);
export const queryParams = <T extends z.ZodType>(schema: T) => validate("query", schema);
export const pathParams = <T extends z.ZodType>(schema: T) => validate("param", schema);
