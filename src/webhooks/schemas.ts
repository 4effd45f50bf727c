import { z } from "zod";
import { EVENT_TYPES } from "../events/repo";
import { listOf, listQuery } from "../lib/pagination";
import { MAX_URL_LENGTH, webhookUrlProblem } from "./url-rules";

export const TEST_EVENT_TYPE = "webhook.test";
/** What `events` may name: every event type of the feed, or `*` for all (later types included). */
export const SUBSCRIBABLE = ["*", ...EVENT_TYPES] as const;

/**
 * The URL rules that hold in every deployment; the https-only and no-loopback rules, which
 * WEBHOOK_ALLOW_INSECURE_URLS lifts, are checked beside it by the body validator (src/webhooks/routes.ts).
 */
const WebhookUrl = z
  .string()
  .max(MAX_URL_LENGTH)
  .superRefine((value, ctx) => {
    const problem = webhookUrlProblem(value, true);
    if (problem) ctx.addIssue({ code: "custom", message: problem, params: { code: "invalid_webhook_url" } });
  })
  .meta({
    description:
      "Where deliveries are POSTed: https only, no user-info, no localhost, loopback, private, link-local or unique-local address literal (in any notation), else 422 invalid_webhook_url. A deployment with WEBHOOK_ALLOW_INSECURE_URLS=true also accepts http and localhost / loopback.",
  });

const EventFilter = z
  .array(
    z.enum(SUBSCRIBABLE, {
      error: (issue) =>
        issue.input === TEST_EVENT_TYPE
          ? "webhook.test is not an event type to subscribe to: POST /v1/webhooks/{id}/test sends one."
          : `Unknown event type; use * or one of ${EVENT_TYPES.join(", ")}.`,
    }),
  )
  .min(1, "Name at least one event type (or leave events out for all).")
  .max(50)
  .meta({ description: "Event types to deliver; `*` (the default) is every type, including types added later. Duplicates are dropped." });

const Description = z.string().max(500).nullable();

export const CreateWebhookBody = z.strictObject({
  url: WebhookUrl,
  events: EventFilter.optional(),
  description: Description.optional(),
});
export type CreateWebhookInput = z.infer<typeof CreateWebhookBody>;

export const PatchWebhookBody = z.strictObject({
  url: WebhookUrl.optional(),
  events: EventFilter.optional(),
  description: Description.optional(),
  enabled: z
    .boolean()
    .optional()
    .meta({ description: "false stops deliveries at once (pending retries end failed); true re-enables from now on (earlier events are not delivered)." }),
});
export type PatchWebhookInput = z.infer<typeof PatchWebhookBody>;

export const Webhook = z
  .object({
    id: z.string().meta({ description: "whk_…" }),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    enabled: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: "Webhook" });

export const CreatedWebhook = Webhook.extend({
  secret: z
    .string()
    .optional()
    .meta({ description: "`whsec_` + base64 of 32 random bytes: shown in this answer only. Absent from an Idempotency-Key replay." }),
}).meta({ id: "CreatedWebhook" });

export const RotatedSecret = z
  .object({ secret: z.string().meta({ description: "The new `whsec_…` secret, shown once." }) })
  .meta({ id: "RotatedWebhookSecret" });

export const WebhookList = listOf(Webhook);

export const DeliveryAttempt = z.object({
  at: z.string(),
  status_code: z.number().int().nullable().meta({ description: "The receiver's HTTP status; null when none came (timeout, network, refused URL)." }),
  error: z.string().nullable().meta({ description: "Why the attempt failed (with the start of the receiver's answer), null on success." }),
  duration_ms: z.number().int(),
});

export const Delivery = z
  .object({
    id: z.string().meta({ description: "whd_…" }),
    event_id: z.string().meta({ description: "Also the webhook-id header of every attempt." }),
    event_type: z.string(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.array(DeliveryAttempt).meta({ description: "Oldest first." }),
    next_attempt_at: z.string().nullable(),
  })
  .meta({ id: "WebhookDelivery" });

export const DeliveryList = listOf(Delivery);

export const WebhookIdParam = z.object({ id: z.string().min(1).max(64) });
export const DeliveryIdParam = z.object({ id: z.string().min(1).max(64), delivery_id: z.string().min(1).max(64) });

export const ListQuery = listQuery({
  tenant: z.string().optional().meta({ description: "Platform keys: the tenant to act in (as X-Tenant)." }),
});

/** The body of every delivery (described as the OpenAPI document's top-level `webhooks`). */
export const WebhookPayload = z
  .object({
    id: z.string().meta({ description: "The event id (evt_…), also the webhook-id header: the same on every retry, so receivers drop duplicates by it." }),
    type: z.enum([...EVENT_TYPES, TEST_EVENT_TYPE]),
    created_at: z.string(),
    tenant_id: z.string(),
    data: z.record(z.string(), z.unknown()).meta({ description: "As in the event feed; {} for webhook.test." }),
  })
  .meta({ id: "WebhookPayload" });
