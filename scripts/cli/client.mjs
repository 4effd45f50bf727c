// The HTTP side of the CLI: every request carries the credentials and X-Tenant, and is retried
// (a bounded number of times) when the server asks to wait (429 or 503 with Retry-After) or the
// connection fails before an answer. Retrying is safe: import batches carry an Idempotency-Key
// and export pages are reads.
import { CliError } from "./options.mjs";

const RETRY_STATUSES = new Set([429, 503]);

/** Seconds to wait from a Retry-After header (seconds or an HTTP date), or null. */
export function retryAfterSeconds(header, now = Date.now()) {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * @param {{ url: string, key: string, tenant?: string, fetch?: typeof fetch,
 *   sleep?: (ms: number) => Promise<void>, onRetry?: (message: string) => void,
 *   maxAttempts?: number, maxWaitSeconds?: number }} options
 */
export function createClient({
  url,
  key,
  tenant,
  fetch = globalThis.fetch,
  sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  onRetry = () => {},
  maxAttempts = 6,
  maxWaitSeconds = 60,
}) {
  const base = url.endsWith("/") ? url : `${url}/`;
  const headersFor = (extra) => ({
    authorization: `Bearer ${key}`,
    "user-agent": "userplane-cli",
    ...(tenant ? { "x-tenant": tenant } : {}),
    ...extra,
  });

  /**
   * A request to `path` (relative to the base URL, or absolute as a Link header gives it).
   * Returns the last Response; throws CliError when no answer came after every attempt.
   */
  async function request(method, path, { body, headers = {} } = {}) {
    const target = new URL(path.replace(/^\//, ""), base);
    for (let attempt = 1; ; attempt++) {
      let response;
      try {
        response = await fetch(target, { method, headers: headersFor(headers), body });
      } catch (error) {
        if (attempt >= maxAttempts) {
          throw new CliError(`no answer from ${target.origin} after ${attempt} attempts: ${error.cause?.message ?? error.message}`);
        }
        const wait = Math.min(2 ** (attempt - 1), maxWaitSeconds);
        onRetry(`${method} ${target.pathname}: ${error.cause?.code ?? error.message}; retrying in ${wait} s (attempt ${attempt + 1} of ${maxAttempts})`);
        await sleep(wait * 1000);
        continue;
      }
      if (!RETRY_STATUSES.has(response.status) || attempt >= maxAttempts) return response;
      const wait = Math.min(retryAfterSeconds(response.headers.get("retry-after")) ?? 2 ** (attempt - 1), maxWaitSeconds);
      await response.body?.cancel();
      onRetry(`${method} ${target.pathname}: ${response.status}; retrying in ${wait} s (attempt ${attempt + 1} of ${maxAttempts})`);
      await sleep(wait * 1000);
    }
  }

  return { request, base };
}

/** The problem details of an error response (or its text), for messages. */
export async function readProblem(response) {
  const text = await response.text();
  try {
    const problem = JSON.parse(text);
    if (problem && typeof problem === "object") return { status: response.status, ...problem };
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, detail: text.slice(0, 300) || response.statusText };
}

/** A one-line description of an error answer, with a hint for the usual causes. */
export function describeProblem(problem, what) {
  const hints = {
    401: "check --key / USERPLANE_KEY",
    403: "the key lacks the permission (import needs users:write; export users:read, credentials the owner or a platform key)",
    404: "is the URL right, the tenant known (--tenant), and the deployment new enough to have import and export?",
    413: "a batch is over the server's body limit: try a smaller --batch",
  };
  const fields = (problem.errors ?? []).map((e) => `${e.path || "(body)"}: ${e.message}`).join("; ");
  const hint = hints[problem.status] ? ` (${hints[problem.status]})` : "";
  return `${what}: ${problem.status} ${problem.code ?? ""} ${problem.detail ?? problem.title ?? ""}${fields ? ` [${fields}]` : ""}${hint}`.replace(/\s+/g, " ").trim();
}
