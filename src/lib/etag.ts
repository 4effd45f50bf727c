import type { Context } from "hono";
import { sha256Hex } from "./crypto";
import { ApiError } from "./errors";

/** A strong ETag from a row's version counter, which every write bumps. */
export const etagOf = (kind: string, id: string, version: number) => `"${kind}-${id.slice(-8)}-${version}"`;

/**
 * The version an `If-Match` header pins, or undefined when the caller sent none (or `*`).
 * The caller's write must then be conditional on that version (`WHERE version = ?`) so the
 * check and the change are one statement; a tag for another version is a 412 at once.
 */
export function expectedVersion(c: Context, kind: string, id: string, current: number): number | undefined {
  const header = c.req.header("If-Match");
  if (header === undefined || header.trim() === "*") return undefined;
  const tags = header.split(",").map((t) => t.trim());
  if (!tags.includes(etagOf(kind, id, current))) throw preconditionFailed();
  return current;
}

/** The tag of a JSON answer's text, for objects without a version counter (see src/middleware/etag.ts). */
export const bodyEtag = async (json: string) => `"h-${(await sha256Hex(json)).slice(0, 24)}"`;

/**
 * If-Match for objects without a version counter: 412 unless the header is `*` or names
 * `currentTag`. The write must then be conditional on the state the tag was computed from.
 */
export function assertIfMatch(c: Context, currentTag: string): void {
  const header = c.req.header("If-Match");
  if (header === undefined || header.trim() === "*") return;
  if (!header.split(",").map((t) => t.trim()).includes(currentTag)) throw preconditionFailed();
}

export const preconditionFailed = () =>
  new ApiError("precondition_failed", "The resource changed since you read it (If-Match does not match its ETag).");
