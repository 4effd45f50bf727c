import type { Bindings, Db } from "../env";
import { dbFor } from "../app";
import { randomSecret } from "../lib/crypto";
import { postWebhook, type AttemptResult } from "./attempt";
import { deliveryTimeoutMs, retrySchedule } from "./config";
import { claimDeliveries, recordOutcomes, type ClaimedDelivery } from "./delivery-store";
import { dispatchEvents } from "./dispatch";
import type { WebhookMessage } from "./messages";
import { deliverMessages, enqueue } from "./producer";
import { openSecret } from "./secret-box";

/** How long a consumer holds a delivery beyond the receiver's timeout before another may take it. */
const LEASE_SLACK_MS = 30_000;

/**
 * The consumer only delivers: `queue()` of the worker. Dispatch hints fan new events out to
 * deliveries (and enqueue them); deliver messages make one attempt each and record it. A failure
 * of D1 itself retries the message (the queue's own retries, then the dead-letter queue; the
 * sweep finds whatever is left pending).
 */
export async function consumeWebhookBatch(batch: MessageBatch<WebhookMessage>, env: Bindings): Promise<void> {
  const db = dbFor(env);
  const dispatches = batch.messages.filter((m) => m.body?.kind === "dispatch");
  const deliveries = batch.messages.filter((m) => m.body?.kind === "deliver");
  for (const m of batch.messages) if (!dispatches.includes(m) && !deliveries.includes(m)) m.ack();
  await Promise.all([
    dispatches.length ? runDispatch(env, db, dispatches) : undefined,
    deliveries.length ? runDeliveries(env, db, deliveries as Message<Extract<WebhookMessage, { kind: "deliver" }>>[]) : undefined,
  ]);
}

async function runDispatch(env: Bindings, db: Db, messages: Message<WebhookMessage>[]) {
  try {
    // However many hints arrived, one run picks up everything new.
    const { created, more } = await dispatchEvents(db);
    await enqueue(env, [...deliverMessages(created), ...(more ? [{ kind: "dispatch" as const }] : [])]);
    for (const m of messages) m.ack();
  } catch (err) {
    console.error(JSON.stringify({ webhook: "dispatch failed", error: String(err) }));
    for (const m of messages) m.retry({ delaySeconds: 5 });
  }
}

async function runDeliveries(env: Bindings, db: Db, messages: Message<Extract<WebhookMessage, { kind: "deliver" }>>[]) {
  const ids = [...new Set(messages.map((m) => m.body.id))];
  const lease = randomSecret(96);
  const now = Date.now();
  try {
    const { claimed, notDue } = await claimDeliveries(db, ids, lease, now, deliveryTimeoutMs(env) + LEASE_SLACK_MS);
    const outcomes = await Promise.all(claimed.map(async (delivery) => ({ delivery, attempt: await attempt(env, delivery) })));
    const again = await recordOutcomes(db, outcomes, lease, retrySchedule(env), Date.now());
    await enqueue(env, [
      ...again.map(({ id, delaySeconds }) => ({ body: { kind: "deliver" as const, id }, delaySeconds })),
      ...notDue.map(({ id, dueAt }) => ({ body: { kind: "deliver" as const, id }, delaySeconds: (dueAt - Date.now()) / 1000 })),
    ]);
    for (const m of messages) m.ack();
  } catch (err) {
    // The lease (if taken) lapses after the timeout and slack; retry once it has.
    console.error(JSON.stringify({ webhook: "delivery failed", error: String(err) }));
    for (const m of messages) m.retry({ delaySeconds: Math.ceil((deliveryTimeoutMs(env) + LEASE_SLACK_MS) / 1000) });
  }
}

/** Signs with the current secret and, for 24 hours after a rotation, the previous one too. */
async function attempt(env: Bindings, d: ClaimedDelivery): Promise<AttemptResult> {
  let secrets: string[];
  try {
    secrets = [await openSecret(env, d.endpoint_id, d.secret)];
    if (d.previous_secret && d.previous_secret_expires_at && Date.parse(d.previous_secret_expires_at) > Date.now()) {
      secrets.push(await openSecret(env, d.endpoint_id, d.previous_secret));
    }
  } catch (err) {
    const at = new Date().toISOString();
    return { at, status_code: null, error: `Cannot sign: ${(err as Error).message}`, duration_ms: 0, ok: false };
  }
  return postWebhook(env, { url: d.url, eventId: d.event_id, payload: d.payload, secrets });
}
