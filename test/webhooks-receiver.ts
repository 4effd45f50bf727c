import { vi } from "vitest";
import { call, PLATFORM_KEY } from "./helpers";

/**
 * The receiver webhooks are sent to in tests: the worker's outbound fetch to
 * https://hooks.example.test/… is answered here (the pool runs the worker, its queue consumer and
 * the tests in one isolate, so a fetch spy sees the consumer's requests). The receiver is not the
 * system under test; every other URL goes to the real fetch.
 */
export const HOOKS = "https://hooks.example.test";

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: { id: string; type: string; created_at: string; tenant_id: string; data: Record<string, unknown> };
}

type Answer = (req: Request, signal: AbortSignal | undefined) => Response | Promise<Response>;

const received: Received[] = [];
const answers = new Map<string, Answer>();
let installed = false;

/** Installs the receiver once per test file (idempotent). */
export function installReceiver() {
  if (installed) return;
  installed = true;
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith(HOOKS)) return realFetch(input, init);
    const path = new URL(req.url).pathname;
    const body = await req.text();
    received.push({ path, headers: Object.fromEntries(req.headers), body, json: JSON.parse(body) });
    const answer = answers.get(path) ?? (() => new Response("ok"));
    return answer(req, init?.signal ?? undefined);
  });
}

let counter = 0;
/** A receiver path of its own for one test, answering with `answer` (200 "ok" by default). */
export function hook(answer?: Answer) {
  const path = `/h${Date.now().toString(36)}${(counter++).toString(36)}`;
  if (answer) answers.set(path, answer);
  return {
    url: `${HOOKS}${path}`,
    path,
    answer: (next: Answer) => answers.set(path, next),
    received: () => received.filter((r) => r.path === path),
  };
}

/** An answer that never comes: it only ends when the worker's timeout aborts the request. */
export const hang: Answer = (_req, signal) =>
  new Promise((_resolve, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason ?? new DOMException("aborted", "AbortError")));
  });

/** Polls until `check` passes (the queue runs asynchronously); fails with the last error after `timeout`. */
export const eventually = <T>(check: () => T | Promise<T>, timeout = 15_000) => vi.waitFor(check, { timeout, interval: 50 });

export async function createWebhook(tenantId: string, body: Record<string, unknown>, token = PLATFORM_KEY) {
  const res = await call("POST", "/v1/webhooks", { token, tenant: token === PLATFORM_KEY ? tenantId : undefined, body });
  if (res.status !== 201) throw new Error(`createWebhook: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; url: string; events: string[]; secret: string; enabled: boolean; created_at: string; description: string | null };
}

export async function deliveries(tenantId: string, webhookId: string) {
  const res = await call("GET", `/v1/webhooks/${webhookId}/deliveries?limit=1000`, { token: PLATFORM_KEY, tenant: tenantId });
  if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.items as {
    id: string;
    event_id: string;
    event_type: string;
    status: string;
    attempts: { at: string; status_code: number | null; error: string | null; duration_ms: number }[];
    next_attempt_at: string | null;
  }[];
}
