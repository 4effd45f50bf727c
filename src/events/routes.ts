import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { requirePermission, type Principal } from "../auth/principal";
import { batch } from "../db/batch";
import type { AppEnv, Db } from "../env";
import {
  cursorPage,
  encodeCursor,
  keysetCondition,
  orderBy,
  parseSort,
  resolvePagination,
  sortKey,
  type SortableField,
  numberedPage,
} from "../lib/pagination";
import { queryParams } from "../lib/validate";
import { describe } from "../openapi/registry";
import { EventList, ListEventsQuery, type ListEventsInput } from "./schemas";

/** The event feed (`/v1/events`): what changed, in the order it was committed. */
export const events = new Hono<AppEnv>();

interface EventRow {
  [column: string]: unknown;
  seq: number;
  id: string;
  type: string;
  data: string;
  created_at: string;
}

/** `seq` is the commit order (AUTOINCREMENT), served by `events_tenant_idx (tenant_id, seq)`. */
const EVENT_FIELDS: Record<string, SortableField> = { seq: { expr: sql`seq`, read: (r) => Number(r.seq) } };
const EVENT_ORDER = parseSort(undefined, ["seq"], "seq").filter((t) => t.field === "seq");

const present = (r: EventRow) => ({ id: r.id, type: r.type, created_at: r.created_at, data: JSON.parse(r.data) as unknown });

/**
 * A tenant's events, or with a platform key and no tenant named, the platform-level ones
 * (`tenant_id IS NULL`, e.g. tenant.deleted).
 */
async function listEvents(db: Db, p: Principal, q: ListEventsInput) {
  const tenant = p.tenantId === null ? sql`tenant_id IS NULL` : sql`tenant_id = ${p.tenantId}`;
  const type = q.type === undefined ? sql`` : sql` AND type = ${q.type}`;
  const where = sql`${tenant}${type}`;
  const scope = `events:${p.tenantId ?? "platform"}:${q.type ?? "*"}`;
  const pagination = resolvePagination(q, scope);
  const select = sql`SELECT seq, id, type, data, created_at FROM events WHERE ${where}`;
  if (pagination.mode === "page") {
    const [rows, count] = await batch(db, [
      db.all<EventRow>(sql`${select} ORDER BY seq LIMIT ${pagination.pageSize} OFFSET ${(pagination.page - 1) * pagination.pageSize}`),
      // Kept per (tenant, type) by trigger (migrations/0004_list_counts.sql): one row per type, not per event.
      db.get<{ total: number }>(sql`SELECT coalesce(sum(n), 0) AS total FROM event_counts
        WHERE tenant_id = ${p.tenantId ?? ""}${type}`),
    ]);
    return numberedPage(rows.map(present), count?.total, pagination);
  }
  const after = pagination.cursor ? sql` AND ${keysetCondition(EVENT_ORDER, EVENT_FIELDS, pagination.cursor)}` : sql``;
  const rows = await db.all<EventRow>(
    sql`${select}${after} ORDER BY ${orderBy(EVENT_ORDER, EVENT_FIELDS, pagination.cursor?.dir === "prev")} LIMIT ${pagination.limit + 1}`,
  );
  const page = cursorPage(rows, pagination, EVENT_ORDER, EVENT_FIELDS, scope, present);
  return { ...page, resume_cursor: resumeCursor(rows.slice(0, pagination.limit), pagination, scope, q.cursor) };
}

/**
 * Where a feed reader picks up next time: just after the last event it has seen (the last of
 * this page, or the cursor it came with when the page was empty). Unlike next_cursor, which is
 * null at the end of the list, it is there on the last page too, so polling with it returns only
 * newer events.
 */
function resumeCursor(rows: EventRow[], pagination: { cursor: { dir: string } | null }, scope: string, given?: string) {
  if (pagination.cursor?.dir === "prev") return null;
  const last = rows.at(-1);
  if (!last) return given ?? null;
  return encodeCursor({ sort: sortKey(EVENT_ORDER), scope, dir: "next", values: [Number(last.seq)] });
}

events.get(
  "/",
  describe({
    summary: "Read the event feed",
    description:
      "events:read. The tenant's events in commit order (oldest first): user.created, user.updated, user.deleted, user.password_changed, password_reset.requested (carries the reset token for the application's mailer), session.revoked. A platform key without X-Tenant reads the platform-level events (tenant.created, tenant.deleted). Cursor mode (limit, cursor) as every list, next_cursor null on the last page; each cursor page also carries resume_cursor, the position after the last event returned (or the cursor given, when nothing was newer): a mailer polls with it to read only new events. Cursors stay valid as events arrive. type filters to one type.",
    tags: ["Events"],
    responses: { 200: { description: "A page of events", schema: EventList } },
  }),
  queryParams(ListEventsQuery),
  async (c) => {
    requirePermission(c.get("principal"), "events:read");
    return c.json(await listEvents(c.get("db"), c.get("principal"), c.req.valid("query")));
  },
);
