import { and, eq, isNull, sql } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { batch } from "../db/batch";
import { shares as sharesTable, users } from "../db/schema";
import type { AppEnv } from "../env";
import { tenantOf, userOf } from "../auth/principal";
import { readWithSession, sessionInBatch } from "../auth/deferred";
import { sessionChecks, tenantIn, writeCaller, writeGuarded, type Check } from "../auth/guards";
import { notFound, validationError } from "../lib/errors";
import {
  cursorPage,
  keysetCondition,
  orderBy,
  parseSort,
  resolvePagination,
  type SortableField,
  listOf,
  numberedPage,
} from "../lib/pagination";
import { assertIfMatch, bodyEtag, preconditionFailed } from "../lib/etag";
import { isoNow } from "../lib/time";
import { jsonBody, pathParams, queryParams } from "../lib/validate";
import { describe } from "../openapi/registry";
import { ListSharesQuery, Share, ShareBody, ShareUserParam } from "./schemas";

/**
 * Sharing: a user grants another user of the same tenant scoped access to themselves. The
 * grantee then sees the owner in `GET /v1/users` with `access: "shared"` and these scopes.
 */
export const shares = new Hono<AppEnv>();
const tags = ["Sharing"];

interface ShareRow {
  [column: string]: unknown;
  grantee_id: string;
  owner_id: string;
  scopes: string;
  created_at: string;
  updated_at: string;
}

const present = (r: ShareRow) => ({
  user_id: r.grantee_id,
  owner_id: r.owner_id,
  scopes: JSON.parse(r.scopes) as string[],
  created_at: r.created_at,
  updated_at: r.updated_at,
});

const SHARE_SORT: Record<string, SortableField> = { id: { expr: sql`grantee_id`, read: (r) => String(r.grantee_id) } };
const SHARE_ORDER = parseSort(undefined, ["id"], "id");

shares.get(
  "/",
  describe({
    summary: "Shares you granted",
    tags,
    responses: {
      200: {
        description: "A page of shares, ordered by user_id",
        schema: listOf(Share),
      },
    },
  }),
  queryParams(ListSharesQuery),
  async (c) => {
    const owner = userOf(c.get("principal"));
    const tenantId = tenantOf(c.get("principal"));
    const db = c.get("db");
    const p = resolvePagination(c.req.valid("query"), `shares:${tenantId}:${owner}`);
    const mine = sql`SELECT grantee_id, owner_id, scopes, created_at, updated_at FROM shares WHERE tenant_id = ${tenantId} AND owner_id = ${owner}`;
    if (p.mode === "page") {
      const [rows, count] = await batch(db, [
        db.all<ShareRow>(sql`${mine} ORDER BY grantee_id LIMIT ${p.pageSize} OFFSET ${(p.page - 1) * p.pageSize}`),
        db.get<{ total: number }>(sql`SELECT count(*) AS total FROM shares WHERE tenant_id = ${tenantId} AND owner_id = ${owner}`),
      ]);
      return c.json(numberedPage(rows.map(present), count?.total, p));
    }
    const after = p.cursor ? sql` AND ${keysetCondition(SHARE_ORDER, SHARE_SORT, p.cursor)}` : sql``;
    const rows = await db.all<ShareRow>(
      sql`${mine}${after} ORDER BY ${orderBy(SHARE_ORDER, SHARE_SORT, p.cursor?.dir === "prev")} LIMIT ${p.limit + 1}`,
    );
    return c.json(cursorPage(rows, p, SHARE_ORDER, SHARE_SORT, `shares:${tenantId}:${owner}`, present));
  },
);

shares.put(
  "/:user_id",
  describe({
    summary: "Share access to yourself with a user",
    description: "Creates or replaces the share (200 either way). The user must exist in your tenant (404 otherwise); sharing with yourself is a 422. If-Match honoured: with a tag other than *, the share must exist and carry that ETag (the one this answer gave), else 412 and nothing changes. (A tag is a hash of the share's answer, so a PUT with one reads the share first: two database round trips instead of one.)",
    headers: ["If-Match"],
    tags,
    responses: { 200: { description: "The share", schema: Share } },
  }),
  sessionInBatch(),
  pathParams(ShareUserParam),
  jsonBody(ShareBody),
  async (c) => {
    const first = writeCaller(c);
    const owner = first.principal ? userOf(first.principal) : first.userId!;
    const tenantId = tenantIn(first);
    const grantee = c.req.valid("param").user_id;
    const selfShare: Check = {
      refuses: grantee === owner,
      answer: () => validationError([{ path: "user_id", message: "You cannot share with yourself.", code: "self_share" }]),
    };
    const db = c.get("db");
    const now = isoNow();
    const scopes = JSON.stringify(c.req.valid("json").scopes);
    // With If-Match, the replace only happens to the share the tag was computed from. The tag
    // hashes the share's answer, which SQL cannot compute: that read is a round trip of its own.
    const pinned = await pinnedShare(c, tenantId, owner, grantee, selfShare);
    const caller = writeCaller(c);
    // One statement after the guard: the grantee must be a live user of this tenant, or nothing is written.
    const insert = db
      .insert(sharesTable)
      .select(
        db
          .select({
            tenantId: users.tenantId,
            ownerId: sql<string>`${owner}`.as("owner_id"),
            granteeId: users.id,
            scopes: sql<string>`${scopes}`.as("scopes"),
            createdAt: sql<string>`${now}`.as("created_at"),
            updatedAt: sql<string>`${now}`.as("updated_at"),
          })
          .from(users)
          .where(and(eq(users.tenantId, tenantId), eq(users.id, grantee), isNull(users.deletedAt))),
      )
      .onConflictDoUpdate({
        target: [sharesTable.tenantId, sharesTable.ownerId, sharesTable.granteeId],
        set: { scopes, updatedAt: now },
        setWhere: pinned && unchangedSince(pinned),
      })
      .returning();
    const [rows] = await writeGuarded<[(typeof sharesTable.$inferSelect)[]]>(c, { caller, checks: [...sessionChecks(caller), selfShare] }, [insert]);
    const row = rows[0];
    if (!row) {
      if (pinned !== undefined) throw preconditionFailed();
      throw notFound("User");
    }
    return c.json({ user_id: row.granteeId, owner_id: row.ownerId, scopes: JSON.parse(row.scopes), created_at: row.createdAt, updated_at: row.updatedAt });
  },
);

/**
 * If-Match on a share: the share must exist (412 otherwise, as for any precondition on a missing
 * object) and carry the tag of its current answer. Returns the row for the conditional write,
 * or undefined when the request names no tag (or `*`). `before` is answered first (once the
 * caller's session is known good).
 */
async function pinnedShare(
  c: Context<AppEnv>,
  tenantId: string,
  owner: string,
  grantee: string,
  before?: Check,
): Promise<ShareRow | undefined> {
  const header = c.req.header("If-Match");
  if (header === undefined || header.trim() === "*") return undefined;
  const [, [row]] = await readWithSession<[ShareRow | undefined]>(c, [
    c.get("db").get<ShareRow | undefined>(
      sql`SELECT grantee_id, owner_id, scopes, created_at, updated_at FROM shares WHERE tenant_id = ${tenantId} AND owner_id = ${owner} AND grantee_id = ${grantee}`,
    ),
  ]);
  if (before?.refuses === true) throw before.answer(undefined as never);
  if (!row) throw preconditionFailed();
  // The same text c.json() sends for this share, so the same tag the answer carried.
  assertIfMatch(c, await bodyEtag(JSON.stringify(present(row))));
  return row;
}

/** The share is still as `pinned` saw it. */
const unchangedSince = (pinned: ShareRow) =>
  and(eq(sharesTable.updatedAt, pinned.updated_at), eq(sharesTable.scopes, pinned.scopes));

shares.delete(
  "/:user_id",
  describe({
    summary: "Stop sharing with a user",
    description: "404 when you do not share with that user. If-Match honoured: a stale tag is a 412 and the share stays.",
    tags,
    headers: ["If-Match"],
    responses: { 204: { description: "Revoked" } },
  }),
  pathParams(ShareUserParam),
  async (c) => {
    const owner = userOf(c.get("principal"));
    const tenantId = tenantOf(c.get("principal"));
    const grantee = c.req.valid("param").user_id;
    const pinned = await pinnedShare(c, tenantId, owner, grantee);
    const deleted = await c.get("db")
      .delete(sharesTable)
      .where(
        and(
          eq(sharesTable.tenantId, tenantId),
          eq(sharesTable.ownerId, owner),
          eq(sharesTable.granteeId, grantee),
          pinned && unchangedSince(pinned),
        ),
      )
      .returning({ owner: sharesTable.ownerId });
    if (deleted.length === 0) throw pinned === undefined ? notFound("Share") : preconditionFailed();
    return c.body(null, 204);
  },
);

