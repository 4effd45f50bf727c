import type { Middleware } from "openapi-fetch";
import { IDEMPOTENT_POSTS } from "./schema";

/** A credential, or a function that gives the current one (a refreshed access token). */
export type CredentialSource = string | (() => string | undefined | Promise<string | undefined>);

/**
 * Sends `Authorization: Bearer <credential>` (unless the request has its own) and, for a
 * platform key acting in a tenant, `X-Tenant`.
 */
export function credentialMiddleware(credential: CredentialSource | undefined, tenant?: string): Middleware {
  return {
    async onRequest({ request }) {
      const value = typeof credential === "function" ? await credential() : credential;
      if (value && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${value}`);
      if (tenant && !request.headers.has("X-Tenant")) request.headers.set("X-Tenant", tenant);
      return request;
    },
  };
}

const idempotentPosts = new Set(IDEMPOTENT_POSTS);

/**
 * An `Idempotency-Key` on every creating POST that has none: one key per call, so the retries
 * of `retryMiddleware` (and the caller's own, with the same key) never create twice.
 */
export function idempotencyMiddleware(newKey: () => string = () => crypto.randomUUID()): Middleware {
  return {
    onRequest({ request, schemaPath }) {
      if (request.method === "POST" && idempotentPosts.has(schemaPath) && !request.headers.has("Idempotency-Key")) {
        request.headers.set("Idempotency-Key", newKey());
      }
      return request;
    },
  };
}

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Most time spent waiting over all retries of one call, in milliseconds (default 30 s). */
  maxWaitMs?: number;
  /** Wait when a 503 names no Retry-After (doubled each retry; default 500 ms). */
  fallbackDelayMs?: number;
}

const RETRIED = new Set([429, 503]);

/**
 * Retries 429 and 503 after their `Retry-After` (seconds or an HTTP date), at most `retries`
 * times and `maxWaitMs` of waiting in all: a wait that would pass the budget is not started and
 * the last answer is returned as it is. Register it last, so it replays the request as sent.
 */
export function retryMiddleware({ retries = 3, maxWaitMs = 30_000, fallbackDelayMs = 500 }: RetryOptions = {}): Middleware {
  const originals = new Map<string, Request>();
  return {
    onRequest({ request, id }) {
      originals.set(id, request.clone());
      return request;
    },
    async onResponse({ response, id, options }) {
      const original = originals.get(id);
      originals.delete(id);
      if (!original) return response;
      let waited = 0;
      for (let retry = 1; retry <= retries && RETRIED.has(response.status); retry++) {
        const delay = retryDelay(response, fallbackDelayMs * 2 ** (retry - 1));
        if (waited + delay > maxWaitMs) break;
        await response.body?.cancel();
        await sleep(delay);
        waited += delay;
        response = await options.fetch(original.clone());
      }
      return response;
    },
    onError({ id }) {
      originals.delete(id);
    },
  };
}

/** Milliseconds a response asks the client to wait (`Retry-After`), else `fallback`. */
export function retryDelay(response: Response, fallback: number, now = Date.now()): number {
  const header = response.headers.get("Retry-After")?.trim();
  if (!header) return fallback;
  if (/^\d+$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? fallback : Math.max(0, at - now);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
