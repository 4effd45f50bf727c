import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { fieldsOf } from "../lib/fields";
import { invalidRequest, jsonBody, pathParams, queryParams } from "../lib/validate";
import { idempotent } from "../middleware/idempotency";
import { describe, describeWebhook, docOf, recordDoc } from "../openapi/registry";
import {
  CreatedWebhook,
  CreateWebhookBody,
  Delivery,
  DeliveryIdParam,
  DeliveryList,
  ListQuery,
  PatchWebhookBody,
  RotatedSecret,
  Webhook,
  WebhookIdParam,
  WebhookList,
  WebhookPayload,
} from "./schemas";
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  patchWebhook,
  presentDelivery,
  presentWebhook,
  retryDelivery,
  rotateWebhookSecret,
  sendTestEvent,
  webhookEtag,
} from "./service";
import { allowsInsecureUrls } from "./config";
import { MAX_URL_LENGTH, webhookUrlProblem } from "./url-rules";

/** Webhooks: endpoints that receive the tenant's events, signed per Standard Webhooks. */
export const webhooks = new Hono<AppEnv>();
const tags = ["Webhooks"];
const READ = "Needs webhooks:read. A platform principal names the tenant with X-Tenant.";
const WRITE = "Needs webhooks:write. A platform principal names the tenant with X-Tenant.";

/**
 * The URL rule of this deployment that the schema cannot know: https only and no loopback, unless
 * WEBHOOK_ALLOW_INSECURE_URLS lifts them. Null when they hold, or when the schema's own rules
 * (which hold everywhere) already name the URL.
 */
async function deploymentUrlProblem(c: Context<AppEnv>): Promise<string | null> {
  if (allowsInsecureUrls(c.env)) return null;
  const url = fieldsOf(await c.req.json().catch(() => undefined))?.url;
  if (typeof url !== "string" || url.length > MAX_URL_LENGTH || webhookUrlProblem(url, true) !== null) return null;
  return webhookUrlProblem(url, false);
}

/**
 * A body validator that applies the deployment's URL rule with the schema, so one 422 names every
 * bad field, the URL among them; when the URL is all that is wrong the problem is
 * invalid_webhook_url (the contract's code).
 */
function webhookBody<T extends z.ZodType>(schema: T) {
  const validator = jsonBody(schema);
  const validates = validator as unknown as MiddlewareHandler<AppEnv>;
  const mw: MiddlewareHandler<AppEnv> = async function webhookBodyValidator(c, next) {
    const problem = await deploymentUrlProblem(c);
    if (problem === null) return validates(c, next);
    const urlError = { path: "url", message: problem, code: "invalid_webhook_url" };
    try {
      await validates(c, async () => {});
    } catch (err) {
      if (err instanceof ApiError && err.errors?.length) throw invalidRequest([...err.errors, urlError]);
      throw err;
    }
    throw invalidRequest([urlError]);
  };
  recordDoc(mw, docOf(validator)!);
  return mw as unknown as typeof validator;
}

webhooks.post(
  "/",
  describe({
    summary: "Create a webhook endpoint",
    description: `${WRITE} A new endpoint is enabled and receives every event recorded from now on that matches \`events\` (default ["*"]: every type, including types added later). \`secret\` (whsec_ + base64 of 32 random bytes) is in this answer only; userplane keeps it encrypted (AES-GCM under WEBHOOK_SECRET_KEY or, when that secret is not set, under a key generated on first use and kept in Durable Object storage, never in D1; a WEBHOOK_SECRET_KEY shorter than 32 characters is a 503). A URL the rules refuse is 422 invalid_webhook_url. An Idempotency-Key replay answers the same endpoint without \`secret\`.`,
    tags,
    responses: { 201: { description: "The endpoint, with its secret", schema: CreatedWebhook } },
  }),
  idempotent({ omitFromReplay: ["secret"] }),
  webhookBody(CreateWebhookBody),
  async (c) => {
    const { row, secret } = await createWebhook(c, c.get("principal"), c.req.valid("json"));
    c.header("Location", `/v1/webhooks/${row.id}`);
    c.header("ETag", webhookEtag(row));
    return c.json({ ...presentWebhook(row), secret }, 201);
  },
);

webhooks.get(
  "/",
  describe({
    summary: "List webhook endpoints",
    description: `${READ} Oldest first, cursor or page mode. Never shows a secret.`,
    tags,
    responses: { 200: { description: "A page of endpoints", schema: WebhookList } },
  }),
  queryParams(ListQuery),
  async (c) => c.json(await listWebhooks(c, c.get("principal"), c.req.valid("query"))),
);

webhooks.get(
  "/:id",
  describe({
    summary: "Get a webhook endpoint",
    description: `${READ} 404 for an endpoint of another tenant.`,
    tags,
    responses: { 200: { description: "The endpoint (no secret)", schema: Webhook } },
  }),
  pathParams(WebhookIdParam),
  async (c) => {
    const row = await getWebhook(c, c.get("principal"), c.req.valid("param").id);
    c.header("ETag", webhookEtag(row));
    return c.json(presentWebhook(row));
  },
);

webhooks.patch(
  "/:id",
  describe({
    summary: "Change a webhook endpoint",
    description: `${WRITE} url, events, description, enabled; only fields present change, a patch that changes nothing writes nothing. enabled: false stops deliveries at once (pending ones end failed); enabled: true starts afresh: events recorded while it was disabled are not delivered later, and the failure count that auto-disables it (50 failed event deliveries in a row) starts from zero. If-Match honoured.`,
    tags,
    headers: ["If-Match"],
    responses: { 200: { description: "The endpoint", schema: Webhook } },
  }),
  // First: the first validator of a route checks all its targets, and this one adds the URL's rule.
  webhookBody(PatchWebhookBody),
  pathParams(WebhookIdParam),
  async (c) => {
    const row = await patchWebhook(c, c.get("principal"), c.req.valid("param").id, c.req.valid("json"));
    c.header("ETag", webhookEtag(row));
    return c.json(presentWebhook(row));
  },
);

webhooks.delete(
  "/:id",
  describe({
    summary: "Delete a webhook endpoint",
    description: `${WRITE} The endpoint and its deliveries log go; nothing more is sent to it. If-Match honoured.`,
    tags,
    headers: ["If-Match"],
    responses: { 204: { description: "Deleted" } },
  }),
  pathParams(WebhookIdParam),
  async (c) => {
    await deleteWebhook(c, c.get("principal"), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

webhooks.post(
  "/:id/rotate-secret",
  describe({
    summary: "Rotate a webhook's secret",
    description: `${WRITE} A new secret, shown once. For 24 hours the previous secret keeps signing next to it (webhook-signature carries both, space-separated), so receivers can switch without losing a delivery; rotating again within that time drops the older one: never more than two sign.`,
    tags,
    responses: { 200: { description: "The new secret", schema: RotatedSecret } },
  }),
  pathParams(WebhookIdParam),
  async (c) => c.json(await rotateWebhookSecret(c, c.get("principal"), c.req.valid("param").id)),
);

webhooks.post(
  "/:id/test",
  describe({
    summary: "Send a test event",
    description: `${WRITE} Queues a webhook.test delivery with data {} to this endpoint alone, whatever its events filter; it shows in the endpoint's deliveries, not in the event feed. → 202 with the delivery (pending). A disabled endpoint gets nothing: 409 webhook_disabled.`,
    tags,
    responses: { 202: { description: "The queued delivery", schema: Delivery } },
  }),
  pathParams(WebhookIdParam),
  async (c) => c.json(presentDelivery(await sendTestEvent(c, c.get("principal"), c.req.valid("param").id)), 202),
);

webhooks.get(
  "/:id/deliveries",
  describe({
    summary: "List a webhook's deliveries",
    description: `${READ} Newest delivery first (cursor or page mode), each with its attempts (oldest first: at, status_code, error with the start of the receiver's answer, duration_ms) and next_attempt_at while pending. Kept 30 days.`,
    tags,
    responses: { 200: { description: "A page of deliveries", schema: DeliveryList } },
  }),
  pathParams(WebhookIdParam),
  queryParams(ListQuery),
  async (c) => c.json(await listDeliveries(c, c.get("principal"), c.req.valid("param").id, c.req.valid("query"))),
);

webhooks.post(
  "/:id/deliveries/:delivery_id/retry",
  describe({
    summary: "Retry a delivery",
    description: `${WRITE} One more attempt of the same delivery (same webhook-id), now, for a delivery that succeeded or failed: → 202 with the delivery (pending). 409 delivery_pending while it is pending; 409 webhook_disabled on a disabled endpoint. A manual retry does not count towards auto-disable.`,
    tags,
    responses: { 202: { description: "The delivery, pending its attempt", schema: Delivery } },
  }),
  pathParams(DeliveryIdParam),
  async (c) => {
    const { id, delivery_id } = c.req.valid("param");
    return c.json(presentDelivery(await retryDelivery(c, c.get("principal"), id, delivery_id)), 202);
  },
);

describeWebhook("event", {
  summary: "An event, pushed to a webhook endpoint",
  description:
    "POST <url> for every event recorded while the endpoint exists and is enabled and matching its events filter (and for webhook.test), with Content-Type: application/json. Verify the signature (e.g. standardwebhooks' Webhook.verify with the endpoint's secret) before trusting the body, and drop duplicates by webhook-id: delivery is at least once, and order is not guaranteed (event ids sort by time). A 2xx within 15 s is a success; anything else, a 3xx included (redirects are not followed), is retried after the delays of WEBHOOK_RETRY_SCHEDULE (default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), then the delivery is failed. 50 failed event deliveries in a row disable the endpoint.",
  headers: {
    "webhook-id": "The event id (evt_…): the same on every retry of this delivery.",
    "webhook-timestamp": "Unix seconds of this attempt; refuse timestamps far from your clock (replays).",
    "webhook-signature":
      "v1,<base64 HMAC-SHA256 keyed with the secret's base64-decoded bytes (after whsec_) over \"<webhook-id>.<webhook-timestamp>.<body>\">; for 24 h after a rotation two signatures, space-separated (one per valid secret).",
  },
  payload: WebhookPayload,
});
