import { and, eq, lt, sql } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { idempotencyKeys } from "../db/schema";
import type { AppEnv } from "../env";
import { sha256Hex } from "../lib/crypto";
import { ApiError, fieldError } from "../lib/errors";
import { recordDoc } from "../openapi/registry";

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
const RETENTION_MS = 24 * 60 * 60 * 1000;
/** Response headers worth replaying; the rest are per-response. */
const REPLAYED_HEADERS = ["content-type", "etag", "location"];

export interface IdempotencyOptions {
  /**
   * Top-level response fields that must never be stored (a secret shown once, such as an API
   * key): a replay answers with the rest of the first answer, without them.
   */
  omitFromReplay?: readonly string[];
}

/**
 * `Idempotency-Key` for creating POSTs. The key is claimed with one conditional INSERT before the
 * handler runs, so two concurrent retries can never both create: the second sees the claim and
 * gets 409 until the first finishes, then the stored answer. Keys are scoped to the caller and
 * route, and kept 24 hours. Only answers that created something are kept: after a 4xx (nothing
 * was created; a fixed body may follow) or a 5xx the key is free again. Bodies are compared as
 * JSON, so the same fields in another order are the same request.
 */
export function idempotent({ omitFromReplay = [] }: IdempotencyOptions = {}): MiddlewareHandler<AppEnv> {
  const mw: MiddlewareHandler<AppEnv> = async function idempotencyMiddleware(c, next) {
    const key = c.req.header("Idempotency-Key");
    if (key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      throw fieldError("Idempotency-Key", "Use 1–255 printable ASCII characters.", "invalid_idempotency_key");
    }
    const db = c.get("db");
    const p = c.get("principal");
    const scope = `${p.kind}:${p.keyId ?? p.userId}:${p.tenantId ?? "-"}:${c.req.method} ${c.req.path}`;
    const fingerprint = await sha256Hex(canonicalJson(await c.req.text()));
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    const claimed = await db
      .insert(idempotencyKeys)
      .values({ scope, key, tenantId: p.tenantId, fingerprint, createdAt: nowIso })
      .onConflictDoUpdate({
        target: [idempotencyKeys.scope, idempotencyKeys.key],
        set: { fingerprint, createdAt: nowIso, status: null, headers: null, body: null },
        // Only an expired claim is taken over; a live one stays with its first request.
        setWhere: lt(idempotencyKeys.createdAt, new Date(now - RETENTION_MS).toISOString()),
      })
      .returning({ key: idempotencyKeys.key });

    if (claimed.length === 0) {
      const [prior] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
      if (!prior) throw new ApiError("idempotency_key_in_progress", "Retry the request.");
      if (prior.fingerprint !== fingerprint) {
        throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used with a different request body.");
      }
      if (prior.status === null) {
        throw new ApiError("idempotency_key_in_progress", "The first request with this Idempotency-Key is still running.");
      }
      const headers = new Headers(JSON.parse(prior.headers ?? "{}") as Record<string, string>);
      headers.set("Idempotent-Replayed", "true");
      return new Response(prior.body, { status: prior.status, headers });
    }

    await next();
    const res = c.res;
    if (res.status >= 400) {
      await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
      return;
    }
    const headers = Object.fromEntries(REPLAYED_HEADERS.flatMap((h) => (res.headers.has(h) ? [[h, res.headers.get(h)!]] : [])));
    await db
      .update(idempotencyKeys)
      .set({ status: res.status, headers: JSON.stringify(headers), body: withoutFields(await res.clone().text(), omitFromReplay) })
      .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key), sql`status IS NULL`));
  };
  recordDoc(mw, { headers: ["Idempotency-Key"] });
  return mw;
}

/** JSON text with object keys sorted at every level (the text itself if it is not JSON). */
function canonicalJson(text: string): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
        : v;
  try {
    return JSON.stringify(sorted(JSON.parse(text)));
  } catch {
    return text;
  }
}

function withoutFields(body: string, fields: readonly string[]): string {
  if (fields.length === 0) return body;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    for (const f of fields) delete parsed[f];
    return JSON.stringify(parsed);
  } catch {
    return body;
  }
}
