// The smoke scripts' shape: named steps run in order over real HTTP, one line each, later steps
// skipped after a failure, then the server stopped by its process id and checked gone.
import { STOP_TIMEOUT_MS } from "./dev-server.mjs";

/** `http(method, path, { token, body, headers })` → `{ status, type, headers, json, text }`. */
export function httpClient(base) {
  return async function http(method, path, { token, body, headers: extra = {} } = {}) {
    const headers = { ...extra };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: response.status, type: response.headers.get("content-type") ?? "", headers: response.headers, json, text };
  };
}

export function expectStatus(response, status, what) {
  if (response.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${response.status} ${response.text.slice(0, 300)}`);
  }
  return response.json;
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs `[name, fn]` steps, stops the server, prints the tally (and the server's output after a
 * failure).
 * @returns {Promise<number>} the exit code
 */
export async function runSteps(steps, server) {
  let passed = 0;
  let failed = 0;
  for (const [name, step] of steps) {
    if (failed) {
      console.log(`- skipped: ${name}`);
      continue;
    }
    const started = Date.now();
    try {
      await step();
      passed++;
      console.log(`✓ ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed++;
      console.log(`✗ ${name}\n    ${error.message}`);
    }
  }
  const skipped = steps.length - passed - failed;

  const stop = await server.stop();
  if (stop.forced) {
    failed++;
    console.log(`✗ the server did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM to pid ${server.pid}; killed its process group`);
  } else if (stop.stillListening) {
    failed++;
    console.log(`✗ something still listens on 127.0.0.1:${server.port} after the server stopped`);
  } else {
    passed++;
    console.log(`✓ server stopped by SIGTERM to pid ${server.pid}; nothing left listening on port ${server.port}`);
  }
  if (failed) {
    console.log("\nServer output (last 60 lines):");
    console.log(server.output.filter((l) => l.trim()).slice(-60).map((l) => `  | ${l}`).join("\n"));
  }
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  return failed ? 1 : 0;
}
