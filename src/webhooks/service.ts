import type { SQLiteRaw } from "drizzle-orm/sqlite-core/query-builders/raw";
import type { Context } from "hono";
import { requirePermission, tenantOf, type Principal } from "../auth/principal";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { etagOf, expectedVersion, preconditionFailed } from "../lib/etag";
import { newId } from "../lib/ids";
import {
  cursorPage,
  keysetCondition,
  numberedPage,
  orderBy,
  resolvePagination,
  type PaginationInput,
  type SortableField,
  type SortTerm,
} from "../lib/pagination";
import { isoNow } from "../lib/time";
import { PREVIOUS_SECRET_TTL_MS } from "./config";
import { afterResponse, deliverMessages, enqueue } from "./producer";
import {
  claimManualRetry,
  countDeliveriesStatement,
  countEndpointsStatement,
  deleteEndpoint,
  DELIVERY_ORDER,
  DELIVERY_SORT,
  ENDPOINT_ORDER,
  ENDPOINT_SORT,
  findDelivery,
  findEndpoint,
  insertEndpoint,
  insertTestDelivery,
  listDeliveriesStatement,
  listEndpointsStatement,
  rotateEndpointSecret,
  updateEndpointStatements,
  type DeliveryRow,
  type EndpointChanges,
  type EndpointRow,
  type ListOptions,
} from "./repo";
import type { CreateWebhookInput, PatchWebhookInput } from "./schemas";
import { TEST_EVENT_TYPE } from "./schemas";
import { assertSecretKey, sealSecret } from "./secret-box";
import { newSigningSecret } from "./signing";

type Ctx = Context<AppEnv>;

export const webhookEtag = (row: EndpointRow) => etagOf("whk", row.id, row.version);

export function presentWebhook(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    description: row.description,
    enabled: row.enabled === 1,
    created_at: row.created_at,
  };
}

export function presentDelivery(row: DeliveryRow) {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: JSON.parse(row.attempts) as unknown[],
    next_attempt_at: row.next_attempt_at,
  };
}

/** `*` covers every type, so a list naming it is just `["*"]`; duplicates go. */
const normaliseEvents = (events: string[] | undefined) =>
  events === undefined || events.includes("*") ? ["*"] : [...new Set(events)];

function writer(p: Principal): string {
  requirePermission(p, "webhooks:write");
  return tenantOf(p);
}

function reader(p: Principal): string {
  requirePermission(p, "webhooks:read");
  return tenantOf(p);
}

/** `POST /v1/webhooks`: a new enabled endpoint and its secret, shown in this answer only. */
export async function createWebhook(c: Ctx, p: Principal, input: CreateWebhookInput) {
  const tenantId = writer(p);
  await assertSecretKey(c.env);
  const id = newId("whk");
  const secret = newSigningSecret();
  const row = await insertEndpoint(c.get("db"), {
    id,
    tenantId,
    url: input.url,
    events: normaliseEvents(input.events),
    description: input.description ?? null,
    sealedSecret: await sealSecret(c.env, id, secret),
    now: isoNow(),
  });
  return { row, secret };
}

export async function listWebhooks(c: Ctx, p: Principal, input: PaginationInput) {
  const tenantId = reader(p);
  return pagedList(c, input, `webhooks:${tenantId}`, ENDPOINT_ORDER, ENDPOINT_SORT, presentWebhook, {
    list: (o) => listEndpointsStatement(c.get("db"), tenantId, o),
    count: () => countEndpointsStatement(c.get("db"), tenantId),
  });
}

/** One list in either pagination mode: a page with its total (one batch), or a keyset page. */
async function pagedList<R extends Record<string, unknown>, T>(
  c: Ctx,
  input: PaginationInput,
  scope: string,
  order: SortTerm[],
  sort: Record<string, SortableField>,
  present: (row: R) => T,
  q: { list: (o: ListOptions) => SQLiteRaw<R[]>; count: () => SQLiteRaw<{ total: number } | undefined> },
) {
  const pg = resolvePagination(input, scope);
  if (pg.mode === "page") {
    const [rows, count] = await batch(c.get("db"), [
      q.list({ order: orderBy(order, sort), limit: pg.pageSize, offset: (pg.page - 1) * pg.pageSize }),
      q.count(),
    ]);
    return numberedPage(rows.map(present), count?.total, pg);
  }
  const rows = await q.list({
    where: pg.cursor ? keysetCondition(order, sort, pg.cursor) : undefined,
    order: orderBy(order, sort, pg.cursor?.dir === "prev"),
    limit: pg.limit + 1,
  });
  return cursorPage(rows, pg, order, sort, scope, present);
}

async function endpointOr404(c: Ctx, tenantId: string, id: string): Promise<EndpointRow> {
  const row = await findEndpoint(c.get("db"), tenantId, id);
  if (!row) throw notFound("Webhook");
  return row;
}

export async function getWebhook(c: Ctx, p: Principal, id: string) {
  return endpointOr404(c, reader(p), id);
}

/** The fields of a PATCH that differ from the row; an empty result writes nothing. */
function changesOf(row: EndpointRow, input: PatchWebhookInput): EndpointChanges {
  const ch: EndpointChanges = {};
  if (input.url !== undefined && input.url !== row.url) ch.url = input.url;
  if (input.events !== undefined) {
    const events = normaliseEvents(input.events);
    if (JSON.stringify(events) !== row.events) ch.events = events;
  }
  if (input.description !== undefined && input.description !== row.description) ch.description = input.description;
  if (input.enabled !== undefined && input.enabled !== (row.enabled === 1)) ch.enabled = input.enabled;
  return ch;
}

const WRITE_ROUNDS = 5;

/**
 * `PATCH /v1/webhooks/{id}`: the change applies to the version it was computed from; without
 * If-Match a concurrent change is re-read and the patch re-applied (a few rounds).
 */
export async function patchWebhook(c: Ctx, p: Principal, id: string, input: PatchWebhookInput): Promise<EndpointRow> {
  const tenantId = writer(p);
  for (let round = 0; round < WRITE_ROUNDS; round++) {
    const row = await endpointOr404(c, tenantId, id);
    const pinned = expectedVersion(c, "whk", row.id, row.version);
    const changes = changesOf(row, input);
    if (Object.keys(changes).length === 0) return row;
    const [updated] = await batch(c.get("db"), updateEndpointStatements(c.get("db"), tenantId, id, row.version, changes, isoNow()));
    if (updated[0]) return updated[0];
    if (pinned !== undefined) throw preconditionFailed();
  }
  throw new ApiError("conflict", "The webhook is being changed by someone else; retry.", undefined, { "Retry-After": "1" });
}

export async function deleteWebhook(c: Ctx, p: Principal, id: string): Promise<void> {
  const tenantId = writer(p);
  const row = await endpointOr404(c, tenantId, id);
  const pinned = expectedVersion(c, "whk", row.id, row.version);
  if (!(await deleteEndpoint(c.get("db"), tenantId, id, pinned))) {
    if (pinned !== undefined) throw preconditionFailed();
    throw notFound("Webhook");
  }
}

/** `POST …/rotate-secret`: a new secret; the old one signs beside it for 24 hours. */
export async function rotateWebhookSecret(c: Ctx, p: Principal, id: string) {
  const tenantId = writer(p);
  await endpointOr404(c, tenantId, id);
  await assertSecretKey(c.env);
  const secret = newSigningSecret();
  const now = Date.now();
  const row = await rotateEndpointSecret(
    c.get("db"),
    tenantId,
    id,
    await sealSecret(c.env, id, secret),
    new Date(now + PREVIOUS_SECRET_TTL_MS).toISOString(),
    isoNow(now),
  );
  if (!row) throw notFound("Webhook");
  return { secret };
}

const disabled = () =>
  new ApiError("webhook_disabled", "The webhook is disabled: a disabled endpoint gets nothing. Enable it first (PATCH enabled: true).");

/** `POST …/test`: a `webhook.test` delivery (data {}) to this endpoint alone; not in the feed. */
export async function sendTestEvent(c: Ctx, p: Principal, id: string) {
  const tenantId = writer(p);
  const endpoint = await endpointOr404(c, tenantId, id);
  if (endpoint.enabled !== 1) throw disabled();
  const now = isoNow();
  const eventId = newId("evt");
  const payload = JSON.stringify({ id: eventId, type: TEST_EVENT_TYPE, created_at: now, tenant_id: tenantId, data: {} });
  const deliveryId = newId("whd");
  const created = await insertTestDelivery(c.get("db"), { id: deliveryId, tenantId, endpointId: id, eventId, payload, now });
  if (!created) throw disabled();
  afterResponse(c, enqueue(c.env, deliverMessages([deliveryId])));
  return (await findDelivery(c.get("db"), tenantId, id, deliveryId))!;
}

/** `POST …/deliveries/{delivery_id}/retry`: one more attempt, now, of a delivery that is not pending. */
export async function retryDelivery(c: Ctx, p: Principal, id: string, deliveryId: string) {
  const tenantId = writer(p);
  const endpoint = await endpointOr404(c, tenantId, id);
  if (endpoint.enabled !== 1) throw disabled();
  if (!(await claimManualRetry(c.get("db"), tenantId, id, deliveryId, isoNow()))) {
    const current = await findDelivery(c.get("db"), tenantId, id, deliveryId);
    if (!current) throw notFound("Delivery");
    if (current.status === "pending") throw new ApiError("delivery_pending", "The delivery is still pending: its next attempt is scheduled.");
    throw disabled();
  }
  afterResponse(c, enqueue(c.env, deliverMessages([deliveryId])));
  return (await findDelivery(c.get("db"), tenantId, id, deliveryId))!;
}

export async function listDeliveries(c: Ctx, p: Principal, id: string, input: PaginationInput) {
  const tenantId = reader(p);
  await endpointOr404(c, tenantId, id);
  return pagedList(c, input, `webhook-deliveries:${tenantId}:${id}`, DELIVERY_ORDER, DELIVERY_SORT, presentDelivery, {
    list: (o) => listDeliveriesStatement(c.get("db"), tenantId, id, o),
    count: () => countDeliveriesStatement(c.get("db"), tenantId, id),
  });
}
