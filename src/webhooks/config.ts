import type { Bindings } from "../env";

/** The contract's default: seconds between attempts, so 8 attempts over about 27 hours. */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];
const DEFAULT_TIMEOUT_MS = 15_000;
/** The longest delay Cloudflare Queues take on send/retry (12 hours); longer waits are chained. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;
/** How much of a receiver's answer is read, for the deliveries log. */
export const MAX_RESPONSE_BYTES = 1024;
/** Consecutive failed event deliveries after which an endpoint is disabled. */
export const AUTO_DISABLE_AFTER = 50;
/** How long the previous secret keeps signing after a rotation. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 3600 * 1000;

let warned = false;

/**
 * WEBHOOK_RETRY_SCHEDULE as seconds. An empty value means no retries; a malformed one falls back to
 * the default (logged once) rather than stopping deliveries.
 */
export function retrySchedule(env: Bindings): number[] {
  const raw = env.WEBHOOK_RETRY_SCHEDULE;
  if (raw === undefined) return DEFAULT_RETRY_SCHEDULE;
  if (raw.trim() === "") return [];
  const parts = raw.split(",").map((p) => p.trim());
  if (parts.every((p) => /^\d{1,7}$/.test(p))) return parts.map(Number);
  if (!warned) {
    warned = true;
    console.error(JSON.stringify({ webhook: "WEBHOOK_RETRY_SCHEDULE is not a comma-separated list of seconds; using the default" }));
  }
  return DEFAULT_RETRY_SCHEDULE;
}

export function deliveryTimeoutMs(env: Bindings): number {
  const n = Number(env.WEBHOOK_TIMEOUT_MS);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_TIMEOUT_MS;
}

export const allowsInsecureUrls = (env: Bindings) => env.WEBHOOK_ALLOW_INSECURE_URLS === "true";
