import { zValidator } from "@hono/zod-validator";
import type { MiddlewareHandler } from "hono";
import type { z } from "zod";
import { type FieldError, validationError } from "./errors";
import { recordDoc, type RouteDoc } from "../openapi/registry";

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

/**
 * `zValidator` with the one failure answer the API gives: a 422 problem naming every bad field.
 * The schema is also recorded for the OpenAPI document, so validation and docs never drift.
 */
function validate<T extends z.ZodType, K extends Target>(target: K, schema: T) {
  const mw = zValidator(target, schema, (result) => {
    if (!result.success) throw validationError(fieldErrors(result.error.issues));
  });
  recordDoc(mw as MiddlewareHandler, { [target]: schema } as Partial<RouteDoc>);
  return mw;
}

export const jsonBody = <T extends z.ZodType>(schema: T) => validate("json", schema);
export const queryParams = <T extends z.ZodType>(schema: T) => validate("query", schema);
export const pathParams = <T extends z.ZodType>(schema: T) => validate("param", schema);
