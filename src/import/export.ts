import type { Context } from "hono";
import type { AppEnv } from "../env";
import { can, isPlatform, requirePermission, tenantOf } from "../auth/principal";
import { readWithSession } from "../auth/deferred";
import { base64url, fromBase64url } from "../lib/crypto";
import { ApiError, forbidden } from "../lib/errors";
import { idPattern } from "../lib/ids";
import { presentUser } from "../users/present";
import { exportPage, type ExportRow } from "./repo";
import type { ExportInput } from "./schemas";

const DEFAULT_EXPORT_LIMIT = 1000;

const invalidCursor = () =>
  new ApiError("invalid_cursor", "The cursor is not one this export issued.", [{ path: "cursor", message: "Invalid cursor.", code: "invalid_cursor" }]);

/** Cursors name the last id of the previous part. */
const encodeCursor = (lastId: string) => base64url(new TextEncoder().encode(JSON.stringify({ after: lastId })));

function decodeCursor(cursor: string): string {
  try {
    const { after } = JSON.parse(new TextDecoder().decode(fromBase64url(cursor))) as { after?: unknown };
    if (typeof after === "string" && idPattern("usr").test(after)) return after;
  } catch {
    // falls through to the 422
  }
  throw invalidCursor();
}

/**
 * `GET /v1/users/export`: NDJSON, one User per line in id order; `Link: rel="next"` while more
 * remain (the request's own query with the next cursor, so limit and include_credentials stay).
 */
export async function exportUsers(c: Context<AppEnv>, q: ExportInput): Promise<Response> {
  const limit = q.limit ?? DEFAULT_EXPORT_LIMIT;
  const after = q.cursor === undefined ? "" : decodeCursor(q.cursor);
  const tenantId = c.get("pendingSession") ? c.get("caller").tenantId : tenantOf(c.get("principal"));
  const [principal, [rows]] = await readWithSession<[ExportRow[]]>(c, [exportPage(c.get("db"), tenantId, after, limit + 1)]);
  requirePermission(principal, "users:read");
  if (q.include_credentials && !isPlatform(principal) && !can(principal, "*")) {
    throw forbidden("Only an owner (*) or a platform key may export password hashes.");
  }
  const page = rows.slice(0, limit);
  const lines = page.map((row) => JSON.stringify(q.include_credentials ? { ...presentUser(row), password_hash: row.password_hash } : presentUser(row)));
  if (rows.length > limit) {
    const next = new URL(c.req.url);
    next.searchParams.set("cursor", encodeCursor(page.at(-1)!.id));
    c.header("Link", `<${next.toString()}>; rel="next"`);
  }
  return c.body(lines.map((l) => `${l}\n`).join(""), 200, { "Content-Type": "application/x-ndjson" });
}
