import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ApiError, validationError } from "../lib/errors";
import { utf8 } from "../lib/crypto";

export interface BodyGuardOptions {
  /** Largest accepted body in bytes (the contract says 64 KiB). */
  maxBytes: number;
  /** Deepest accepted nesting of objects and arrays. */
  maxDepth: number;
  /** Larger limits for some routes, keyed `METHOD /path` (a trailing slash is the same path). */
  largerFor?: Record<string, number>;
}

const JSON_MEDIA_TYPE = /^application\/(merge-patch\+)?json$/i;

/**
 * Runs before authentication and validation: 413 for an oversized body, 415 for a body that is
 * not JSON, 400 for JSON that does not parse. Hono's own json validator would read a non-JSON
 * body as `{}`; this guard makes sure that never happens silently. An empty body is `{}`.
 */
export function bodyGuard({ maxBytes: defaultMax, maxDepth, largerFor = {} }: BodyGuardOptions): MiddlewareHandler<AppEnv> {
  if (!(defaultMax > 0)) throw new Error("bodyGuard: maxBytes must be positive");
  if (!(maxDepth > 0)) throw new Error("bodyGuard: maxDepth must be positive");
  return async function bodyGuardMiddleware(c, next) {
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "OPTIONS") return next();
    const maxBytes = largerFor[`${c.req.method} ${c.req.path.replace(/\/+$/, "")}`] ?? defaultMax;
    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > maxBytes) throw tooLarge(maxBytes);
    const text = c.req.raw.body ? await c.req.text() : "";
    // A UTF-16 unit is at most 3 bytes of UTF-8: most bodies need no encoding to be measured.
    if (text.length * 3 > maxBytes && utf8(text).byteLength > maxBytes) throw tooLarge(maxBytes);
    if (text.trim() === "") {
      // Many clients send Content-Type: application/json with no body; the validators then read
      // `{}` like for a request without a content type, instead of failing to parse "". Hono
      // keeps the body's promises in bodyCache (typed as values) and parses json() from text.
      (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve("{}");
      return next();
    }
    const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim();
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new ApiError(
        "unsupported_media_type",
        "Send the body as application/json (or application/merge-patch+json for PATCH).",
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError("malformed_json", "The request body is not valid JSON.");
    }
    // 64 KiB of "[[[[…" parses fine but overflows the stack of every recursive reader after it
    // (zod's z.json(), merge patch): refused here, before any of them runs.
    if (nestingDepth(parsed, maxDepth) > maxDepth) {
      throw validationError(
        [{ path: "", message: `JSON is nested more than ${maxDepth} levels deep.`, code: "too_deep" }],
        `The request body is nested more than ${maxDepth} levels deep.`,
      );
    }
    await next();
  };
}

const tooLarge = (maxBytes: number) =>
  new ApiError("payload_too_large", `The request body is larger than ${maxBytes} bytes.`);

/** Nesting depth of a parsed JSON value, counted without recursion; stops once past `limit`. */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Object.values(node)) stack.push([child, level]);
  }
  return deepest;
}
