import type { Bindings } from "../env";
import { ApiError } from "../lib/errors";
import type { ThrottleRule, Verdict } from "./throttle";

/**
 * The worker's side of the brute-force counters kept by the Throttle Durable Object: which keys
 * guard what, with which budget, and the one 429 they all answer.
 */
export interface Limit {
  /** Names the counter's object: `login:acct:<tenant>:<user or login>`, `login:ip:<address>`, … */
  key: string;
  rule: ThrottleRule;
}

const positive = (raw: string | undefined, fallback: number) => {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

/** The window budgets count in (`LOGIN_WINDOW_SECONDS`, default 15 minutes). */
const windowSeconds = (env: Bindings) => positive(env.LOGIN_WINDOW_SECONDS, 15 * 60);

const rule = (env: Bindings, max: number): ThrottleRule => ({
  max,
  lockoutSeconds: positive(env.LOGIN_LOCKOUT_SECONDS, 60),
  windowSeconds: windowSeconds(env),
});

/** Failed sign-ins one account may have in a window before it is locked out (`LOGIN_MAX_FAILURES`, default 5). */
export const accountRule = (env: Bindings): ThrottleRule => rule(env, positive(env.LOGIN_MAX_FAILURES, 5));

/** The account counter of a known user is keyed by id, so email and username share one budget. */
export const accountLimit = (env: Bindings, tenantId: string, userId: string): Limit => ({
  key: `login:acct:${tenantId}:${userId}`,
  rule: accountRule(env),
});

/**
 * Failed sign-ins one client address may have: a token bucket with a burst of
 * `LOGIN_IP_MAX_FAILURES` (default 100, higher than an account's, as many people share an
 * address: an office, a carrier's NAT), refilled by one every `LOGIN_IP_REFILL_SECONDS` (default
 * 864: 100 a day, as Auth0's suspicious-IP throttling), instead of a window that refills it all.
 */
export const addressRule = (env: Bindings): ThrottleRule => ({
  ...rule(env, positive(env.LOGIN_IP_MAX_FAILURES, 100)),
  refillSeconds: positive(env.LOGIN_IP_REFILL_SECONDS, 864),
});

/** Reset requests per email in a window: a few, then the same growing lock-out. */
export const RESET_REQUESTS_PER_EMAIL = 5;
export const resetEmailRule = (env: Bindings): ThrottleRule => rule(env, RESET_REQUESTS_PER_EMAIL);
export const resetAddressRule = addressRule;

/**
 * The client address Cloudflare's edge puts in `CF-Connecting-IP` (never `X-Forwarded-For`,
 * which any client can write). Without it the request did not come through the edge (a local
 * test), and there is no address to count.
 */
export function clientAddress(headers: Headers): string | null {
  const ip = headers.get("CF-Connecting-IP")?.trim();
  return ip && ip.length <= 64 ? ip.toLowerCase() : null;
}

const counter = (env: Bindings, key: string) => env.THROTTLE.get(env.THROTTLE.idFromName(key));

export function rateLimited(retryAfter: number): ApiError {
  return new ApiError("rate_limited", `Too many attempts. Try again in ${retryAfter} s.`, undefined, {
    "Retry-After": String(retryAfter),
  });
}

/**
 * Charges one attempt on every key, in order, and stops at the first that refuses (so a locked
 * address does not also spend the account's budget). A refused attempt checks no password, so
 * the keys already charged get their attempt back: knocking on a locked account does not use up
 * the address. Throws the 429.
 */
export async function admit(env: Bindings, limits: Limit[], now: number): Promise<void> {
  for (const [i, limit] of limits.entries()) {
    const verdict = await attemptWaiting(env, limit, now);
    if (!verdict.allowed) {
      await Promise.all(limits.slice(0, i).map((charged) => counter(env, charged.key).refund()));
      throw rateLimited(verdict.retryAfter);
    }
  }
}

/** How often, and how many times, an attempt asks again while attempts in flight hold its key (5 s). */
const BUSY_POLL_MS = 100;
const BUSY_POLLS = 50;

/** One attempt on one key; while the key is busy with attempts in flight, it waits for them. */
async function attemptWaiting(env: Bindings, limit: Limit, now: number): Promise<Verdict> {
  const stub = counter(env, limit.key);
  for (let poll = 0; ; poll++) {
    const verdict: Verdict = await stub.attempt(limit.rule, now + poll * BUSY_POLL_MS);
    if (verdict.allowed || !verdict.busy || poll >= BUSY_POLLS) return verdict;
    await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
  }
}

/** Charges one attempt that stays spent on every key (requests that are limited, not failures). */
export async function spend(env: Bindings, limits: Limit[], now: number): Promise<void> {
  for (const limit of limits) {
    const verdict: Verdict = await counter(env, limit.key).hit(limit.rule, now);
    if (!verdict.allowed) throw rateLimited(verdict.retryAfter);
  }
}

/** The charged attempts failed: keys whose budget is now spent lock out. */
export async function reportFailure(env: Bindings, limits: Limit[], now: number): Promise<void> {
  await Promise.all(limits.map((l) => counter(env, l.key).fail(l.rule, now)));
}

/** The attempt succeeded: forget `reset` keys, give the attempt back on `refund` keys. */
export async function reportSuccess(env: Bindings, reset: Limit[], refund: Limit[]): Promise<void> {
  await Promise.all([
    ...reset.map((l) => counter(env, l.key).reset()),
    ...refund.map((l) => counter(env, l.key).refund()),
  ]);
}
