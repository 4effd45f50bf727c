// A tiny JSON-over-HTTP client for the bench's setup calls: every unexpected status is an error
// naming the request, so a broken route stops the bench with a clear message instead of skewing it.

/** `call(base, method, path, { token, body, headers, expect })` → { status, headers, body }. */
export async function call(base, method, path, { token, body, headers = {}, expect = [200, 201, 204] } = {}) {
  const init = { method, headers: { ...headers } };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["content-type"] ??= "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetchWithRetry(new URL(path, base), init, `${method} ${path}`);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!expect.includes(response.status)) {
    throw new Error(`${method} ${path} → ${response.status} (expected ${expect.join("/")}): ${text.slice(0, 500)}`);
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * fetch, retried when the connection fails before any answer: after a burst of CPU-bound requests
 * the server may have closed a kept-alive connection that the client's pool still hands out.
 */
async function fetchWithRetry(url, init, label, attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (attempt >= attempts) {
        throw new Error(`${label}: ${error.cause?.message ?? error.message}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}
