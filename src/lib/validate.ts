import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { zValidator } from "@hono/zod-validator";
import type { z } from "zod";
import { ApiError, errorRegistry, type ErrorCode, type FieldError, validationError } from "./errors";
import { docOf, recordDoc, type RouteDoc } from "../openapi/registry";
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

/** Requests whose route's first validator found every target valid (it throws otherwise). */
const validated = new WeakSet<Context>();

const TARGETS: readonly Target[] = ["param", "query", "json"];

/**
 * The schemas the route being served validates: those its handlers after the current one
 * document (Hono keeps one route entry per handler, all with the registration's method and
 * path). Read from the OpenAPI records, so a middleware wrapping a validator counts too.
 */
function routeSpecs(c: Context): Spec[] {
  const routes = matchedRoutes(c);
  const current = routes[c.req.routeIndex];
  if (!current) return [];
  const found: Spec[] = [];
  for (let i = c.req.routeIndex; i < routes.length; i++) {
    const r = routes[i]!;
    if (r.method !== current.method || r.path !== current.path) break;
    const doc = docOf(r.handler);
    for (const target of TARGETS) {
      const schema = doc?.[target];
      if (schema && !found.some((f) => f.target === target)) found.push({ target, schema });
    }
  }
  return found;
}

/**
 * The one 422 for all bad fields. When every one fails for the same registered problem code (a
 * refinement's `params.code`, e.g. `invalid_webhook_url`), the problem is that code.
 */
export function invalidRequest(errors: FieldError[]): ApiError {
  const code = errors[0]!.code;
  const shared = code in errorRegistry && errorRegistry[code as ErrorCode].status === 422 && errors.every((e) => e.code === code);
  return shared ? new ApiError(code as ErrorCode, errors[0]!.message, errors) : validationError(errors);
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
 * Checks the rest of the route's path, query and body alongside the target the first validator
 * parsed, so one 422 names every bad field of the request, wherever it is; nothing runs between
 * validators with half-checked input.
 */
async function validateRoute(c: Context, own: Target, ownResult: ParseResult): Promise<void> {
  const results = [ownResult];
  for (const spec of routeSpecs(c)) {
    if (spec.target !== own) results.push(await spec.schema.safeParseAsync(await rawValue(c, spec.target)));
  }
  const errors = results.flatMap((r) => (r.success ? [] : fieldErrors(r.error.issues)));
  if (errors.length > 0) throw invalidRequest(errors);
  validated.add(c);
}

type ParseResult = { success: true } | { success: false; error: z.ZodError };

/**
 * `zValidator` with the one failure answer the API gives: a 422 problem naming every bad field
 * of the request (its path, query and body together) instead of its raw 400. The first validator
 * of a route checks all of the route's targets; the later ones find theirs already passed (their
 * own parse of the same value gives the same data). The schema is also recorded for the OpenAPI
 * document, so validation and docs never drift.
 */
function validate<T extends z.ZodType, K extends Target>(target: K, schema: T) {
  const mw = zValidator(target, schema, async (result, c) => {
    if (result.success && validated.has(c)) return;
    await validateRoute(c, target, result as ParseResult);
  }) as unknown as MiddlewareHandler<
    AppEnv,
    string,
    { in: { [P in K]: z.input<T> }; out: { [P in K]: z.output<T> } }
  >;
  recordDoc(mw as MiddlewareHandler, { [target]: schema } as Partial<RouteDoc>);
  return mw;
}

export const jsonBody = <T extends z.ZodType>(schema: T) => validate("json", schema);
export const queryParams = <T extends z.ZodType>(schema: T) => validate("query", schema);
export const pathParams = <T extends z.ZodType>(schema: T) => validate("param", schema);
