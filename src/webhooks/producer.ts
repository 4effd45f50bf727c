import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Bindings } from "../env";
import { MAX_QUEUE_DELAY_SECONDS } from "./config";
import type { WebhookMessage } from "./messages";

/** Cloudflare Queues take at most 100 messages per sendBatch. */
const SEND_BATCH_LIMIT = 100;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Answers after which nothing was written, so no event can have been recorded. */
const NOTHING_WRITTEN = new Set([400, 403, 404, 405, 412, 413, 415, 422, 429]);

/**
 * The producer only enqueues. Events are committed by the write paths themselves (in the same D1
 * batch as the change); after the response, this middleware sends one `dispatch` hint, off the
 * response path (`waitUntil`), and the consumer fans out whatever is new. The write path gets no
 * extra D1 statement. If the hint is lost (the worker stopped), the scheduled sweep dispatches.
 * This covers every way events are recorded (recordEvent, the INSERT … SELECTs of sessions,
 * passwords and deletions, the triggers of user_creations, Durable Objects called by a request) without a hook in each of them.
 */
export function webhookProducer(): MiddlewareHandler<AppEnv> {
  return async function webhookProducerMiddleware(c, next) {
    await next();
    if (SAFE_METHODS.has(c.req.method) || NOTHING_WRITTEN.has(c.res.status)) return;
    if (c.env.WEBHOOK_TEST_DROP_ENQUEUE === "true") return; // fault injection: see vitest.config.ts
    hintDispatch(c);
  };
}

/**
 * How long a hint waits for other writes of the isolate to share it. The consumer gathers its
 * batches for up to a second anyway (`max_batch_timeout`), so a quarter of a second adds little
 * to delivery latency, and under load an isolate sends four hints a second instead of one every
 * few writes: each send is a call to the queue, paid inside the writes' worker.
 */
const HINT_GATHER_MS = 250;

/** The isolate's hint being gathered or sent, if any. */
interface Hint {
  sending: boolean;
  again: boolean;
}
let hint: Hint | null = null;

/**
 * One `dispatch` hint for every write that committed before it is sent: a queue send costs more
 * than the rest of a create, and one consumer run fans out all new events however many hints
 * there were. A write that finishes while the hint gathers is covered by it; one that finishes
 * while it is being sent (the consumer may already have read past it) gets the next one.
 */
function hintDispatch(c: Context<AppEnv>): void {
  if (hint) {
    if (hint.sending) hint.again = true;
    return;
  }
  const state: Hint = { sending: false, again: false };
  hint = state;
  const env = c.env;
  const run = async () => {
    try {
      do {
        state.again = false;
        await new Promise((resolve) => setTimeout(resolve, HINT_GATHER_MS));
        state.sending = true;
        await enqueue(env, [{ kind: "dispatch" }]);
        state.sending = false;
      } while (state.again);
    } finally {
      hint = null;
    }
  };
  afterResponse(c, run());
}

/** Lets `work` finish after the response is sent (waitUntil), where the runtime gives a context. */
export function afterResponse(c: Context<AppEnv>, work: Promise<void>): void {
  let ctx: typeof c.executionCtx | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined; // app.fetch called without one (a bare test harness): the work still runs
  }
  ctx?.waitUntil(work);
}

export interface Outgoing {
  body: WebhookMessage;
  delaySeconds?: number;
}

/**
 * Sends messages, in batches of 100, never throwing: a lost message is found again by the sweep
 * (undispatched events, overdue pending deliveries), so a queue hiccup costs latency, not events.
 */
export async function enqueue(env: Bindings, messages: (WebhookMessage | Outgoing)[]): Promise<void> {
  // A runtime configured without the queue (a bare Miniflare, say) delivers no webhooks at all.
  if (!env.WEBHOOK_QUEUE) return;
  const items = messages.map((m) => ("body" in m ? m : { body: m }));
  for (let i = 0; i < items.length; i += SEND_BATCH_LIMIT) {
    const chunk = items.slice(i, i + SEND_BATCH_LIMIT).map((m) => ({
      body: m.body,
      contentType: "json" as const,
      ...(m.delaySeconds ? { delaySeconds: Math.min(Math.ceil(m.delaySeconds), MAX_QUEUE_DELAY_SECONDS) } : {}),
    }));
    try {
      await env.WEBHOOK_QUEUE.sendBatch(chunk);
    } catch (err) {
      console.error(JSON.stringify({ webhook: "enqueue failed; the sweep will pick these up", count: chunk.length, error: String(err) }));
    }
  }
}

export const deliverMessages = (ids: string[]): WebhookMessage[] => ids.map((id) => ({ kind: "deliver", id }));
