import type { Bindings } from "../env";
import { allowsInsecureUrls, deliveryTimeoutMs, MAX_RESPONSE_BYTES } from "./config";
import { webhookHeaders } from "./signing";
import { webhookUrlProblem } from "./url-rules";

/** One attempt as the deliveries log shows it, plus whether it succeeded. */
export interface AttemptResult {
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  ok: boolean;
}

export interface AttemptTarget {
  url: string;
  /** The event id: the webhook-id header, the same on every retry. */
  eventId: string;
  payload: string;
  secrets: string[];
}

/**
 * POSTs one delivery: the URL rules are checked again first (they may have changed, or the
 * deployment's setting), redirects are not followed (a 3xx is a failure), the receiver has the
 * configured timeout (15 s) to answer, and only the first KiB of its answer is read, for the log.
 */
export async function postWebhook(env: Bindings, target: AttemptTarget): Promise<AttemptResult> {
  const started = Date.now();
  const at = new Date(started).toISOString();
  const result = (status_code: number | null, error: string | null) => ({
    at,
    status_code,
    error,
    duration_ms: Date.now() - started,
    ok: error === null,
  });
  const refused = webhookUrlProblem(target.url, allowsInsecureUrls(env));
  if (refused) return result(null, `URL refused: ${refused}`);
  const timeoutMs = deliveryTimeoutMs(env);
  try {
    const headers = await webhookHeaders(target.eventId, target.payload, target.secrets, started);
    const res = await fetch(target.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": "userplane-webhooks/1", ...headers },
      body: target.payload,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const excerpt = await readExcerpt(res);
    if (res.status >= 200 && res.status < 300) return result(res.status, null);
    const why = res.status >= 300 && res.status < 400 ? `Answered ${res.status} (redirects are not followed)` : `Answered ${res.status}`;
    return result(res.status, excerpt ? `${why}: ${excerpt}` : why);
  } catch (err) {
    const name = (err as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") return result(null, `No answer within ${timeoutMs} ms`);
    return result(null, `Could not deliver: ${String((err as Error)?.message ?? err).slice(0, 200)}`);
  }
}

/** The start of an answer's body (at most MAX_RESPONSE_BYTES); the rest is never read. */
async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, MAX_RESPONSE_BYTES));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.byteLength - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
    if (offset >= bytes.byteLength) break;
  }
  return new TextDecoder().decode(bytes).trim();
}
