import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../env";
import type { SortableField, SortTerm } from "../lib/pagination";

/** A webhook_endpoints row as these queries return it. */
export interface EndpointRow {
  [column: string]: unknown;
  id: string;
  tenant_id: string;
  url: string;
  events: string;
  description: string | null;
  enabled: number;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  version: number;
}

export interface DeliveryRow {
  [column: string]: unknown;
  seq: number;
  id: string;
  event_id: string;
  event_type: string;
  status: "pending" | "succeeded" | "failed";
  attempts: string;
  next_attempt_at: string | null;
}

const ENDPOINT_COLUMNS = sql`id, tenant_id, url, events, description, enabled, secret, previous_secret,
  previous_secret_expires_at, created_at, version`;
const DELIVERY_COLUMNS = sql`seq, id, event_id, event_type, status, attempts, next_attempt_at`;

export interface NewEndpoint {
  id: string;
  tenantId: string;
  url: string;
  events: string[];
  description: string | null;
  sealedSecret: string;
  now: string;
}

export function insertEndpoint(db: Db, e: NewEndpoint) {
  return db.get<EndpointRow>(sql`INSERT INTO webhook_endpoints
      (id, tenant_id, url, events, description, enabled, enabled_since, secret, created_at, updated_at)
    VALUES (${e.id}, ${e.tenantId}, ${e.url}, ${JSON.stringify(e.events)}, ${e.description}, 1, ${e.now}, ${e.sealedSecret}, ${e.now}, ${e.now})
    RETURNING ${ENDPOINT_COLUMNS}`);
}

export function findEndpoint(db: Db, tenantId: string, id: string) {
  return db.get<EndpointRow | undefined>(sql`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND id = ${id}`);
}

export const ENDPOINT_SORT: Record<string, SortableField> = {
  created_at: { expr: sql`created_at`, read: (r) => String(r.created_at) },
  id: { expr: sql`id`, read: (r) => String(r.id) },
};
export const ENDPOINT_ORDER: SortTerm[] = [
  { field: "created_at", desc: false },
  { field: "id", desc: false },
];

export interface ListOptions {
  where?: SQL;
  order: SQL;
  limit: number;
  offset?: number;
}

export function listEndpointsStatement(db: Db, tenantId: string, o: ListOptions) {
  const extra = o.where ? sql` AND ${o.where}` : sql``;
  return db.all<EndpointRow>(sql`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = ${tenantId}${extra}
    ORDER BY ${o.order} LIMIT ${o.limit} OFFSET ${o.offset ?? 0}`);
}

export function countEndpointsStatement(db: Db, tenantId: string) {
  return db.get<{ total: number }>(sql`SELECT count(*) AS total FROM webhook_endpoints WHERE tenant_id = ${tenantId}`);
}

export interface EndpointChanges {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

/**
 * Applies a PATCH while the row is still at `version`. Re-enabling starts a new enabled period
 * (events recorded before it are not delivered) and a fresh failure count; disabling ends every
 * pending delivery as failed in the same transaction, so its retries stop at once.
 */
export function updateEndpointStatements(db: Db, tenantId: string, id: string, version: number, ch: EndpointChanges, now: string) {
  const set: SQL[] = [sql`updated_at = ${now}`, sql`version = version + 1`];
  if (ch.url !== undefined) set.push(sql`url = ${ch.url}`);
  if (ch.events !== undefined) set.push(sql`events = ${JSON.stringify(ch.events)}`);
  if (ch.description !== undefined) set.push(sql`description = ${ch.description}`);
  if (ch.enabled === true) {
    set.push(sql`enabled_since = CASE WHEN enabled = 0 THEN ${now} ELSE enabled_since END`);
    set.push(sql`failure_streak = CASE WHEN enabled = 0 THEN 0 ELSE failure_streak END`);
    set.push(sql`enabled = 1`);
  }
  if (ch.enabled === false) set.push(sql`enabled = 0`);
  return [
    db.all<EndpointRow>(sql`UPDATE webhook_endpoints SET ${sql.join(set, sql`, `)}
      WHERE tenant_id = ${tenantId} AND id = ${id} AND version = ${version} RETURNING ${ENDPOINT_COLUMNS}`),
    stopPendingOfDisabled(db, sql`endpoint_id = ${id} AND tenant_id = ${tenantId}`, now),
  ] as const;
}

/** Pending deliveries of disabled endpoints end failed: "a disabled endpoint gets nothing". */
export function stopPendingOfDisabled(db: Db, where: SQL, now: string) {
  return db.run(sql`UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = ${now}
    WHERE ${where} AND status = 'pending'
      AND EXISTS (SELECT 1 FROM webhook_endpoints w
        WHERE w.tenant_id = webhook_deliveries.tenant_id AND w.id = webhook_deliveries.endpoint_id AND w.enabled = 0)`);
}

/**
 * The current secret becomes the previous one (signing for 24 more hours) and `sealed` the
 * current: an older previous secret is dropped, so never more than two sign.
 */
export function rotateEndpointSecret(db: Db, tenantId: string, id: string, sealed: string, previousUntil: string, now: string) {
  return db.get<EndpointRow | undefined>(sql`UPDATE webhook_endpoints
    SET previous_secret = secret, previous_secret_expires_at = ${previousUntil}, secret = ${sealed},
        updated_at = ${now}, version = version + 1
    WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${ENDPOINT_COLUMNS}`);
}

export async function deleteEndpoint(db: Db, tenantId: string, id: string, version?: number): Promise<boolean> {
  const guard = version === undefined ? sql`` : sql` AND version = ${version}`;
  const rows = await db.all<{ id: string }>(sql`DELETE FROM webhook_endpoints WHERE tenant_id = ${tenantId} AND id = ${id}${guard} RETURNING id`);
  return rows.length === 1;
}

export interface NewTestDelivery {
  id: string;
  tenantId: string;
  endpointId: string;
  eventId: string;
  payload: string;
  now: string;
}

/** A `webhook.test` delivery, only while the endpoint is enabled. Undefined otherwise. */
export function insertTestDelivery(db: Db, d: NewTestDelivery) {
  return db.get<{ id: string } | undefined>(sql`INSERT INTO webhook_deliveries
      (id, tenant_id, endpoint_id, event_id, event_type, kind, payload, status, next_attempt_at, created_at, updated_at)
    SELECT ${d.id}, ${d.tenantId}, ${d.endpointId}, ${d.eventId}, 'webhook.test', 'test', ${d.payload}, 'pending', ${d.now}, ${d.now}, ${d.now}
    WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = ${d.tenantId} AND id = ${d.endpointId} AND enabled = 1)
    RETURNING id`);
}

/**
 * A manual retry: a delivery that is not pending becomes pending for one attempt, now, while its
 * endpoint is enabled. False when nothing was taken (see findDeliveryStatus for why).
 */
export async function claimManualRetry(db: Db, tenantId: string, endpointId: string, id: string, now: string): Promise<boolean> {
  const taken = await db.all<{ id: string }>(sql`UPDATE webhook_deliveries
    SET status = 'pending', manual = 1, next_attempt_at = ${now}, lease = NULL, lease_until = NULL, updated_at = ${now}
    WHERE tenant_id = ${tenantId} AND endpoint_id = ${endpointId} AND id = ${id} AND status <> 'pending'
      AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.tenant_id = ${tenantId} AND w.id = ${endpointId} AND w.enabled = 1)
    RETURNING id`);
  return taken.length === 1;
}

export function findDelivery(db: Db, tenantId: string, endpointId: string, id: string) {
  return db.get<DeliveryRow | undefined>(sql`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
    WHERE tenant_id = ${tenantId} AND endpoint_id = ${endpointId} AND id = ${id}`);
}

/** Deliveries list newest first: `seq` is the insertion order. */
export const DELIVERY_SORT: Record<string, SortableField> = { seq: { expr: sql`seq`, read: (r) => Number(r.seq) } };
export const DELIVERY_ORDER: SortTerm[] = [{ field: "seq", desc: true }];

export function listDeliveriesStatement(db: Db, tenantId: string, endpointId: string, o: ListOptions) {
  const extra = o.where ? sql` AND ${o.where}` : sql``;
  return db.all<DeliveryRow>(sql`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
    WHERE tenant_id = ${tenantId} AND endpoint_id = ${endpointId}${extra}
    ORDER BY ${o.order} LIMIT ${o.limit} OFFSET ${o.offset ?? 0}`);
}

export function countDeliveriesStatement(db: Db, tenantId: string, endpointId: string) {
  return db.get<{ total: number }>(sql`SELECT count(*) AS total FROM webhook_deliveries WHERE tenant_id = ${tenantId} AND endpoint_id = ${endpointId}`);
}
