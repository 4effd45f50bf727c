// Shared by the console's browser tests: starts the worker exactly as the README says (through
// scripts/lib/dev-server.mjs, as the smoke tests do)
//   npm run dev -- --port <free port> --ip 127.0.0.1 --persist-to <tmp dir> --var BOOTSTRAP_API_KEY:<random> …
// drives Debian's chromium through playwright-core, and checks pages with axe-core.
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { freePort, startDevServer } from "../../scripts/lib/dev-server.mjs";

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve("axe-core/axe.min.js");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The worker under `npm run dev` (scripts/lib/dev-server.mjs), on free 127.0.0.1 ports with its own temporary storage. */
export async function startWorker({ vars = {} } = {}) {
  // Cheap password hashing: the flows sign in often; the cost parameters are not under test here.
  const server = await startDevServer({
    name: "e2e",
    vars: { PASSWORD_SCRYPT_PARAMS: "1024,8,1", ...vars },
    inspectorPort: await freePort(),
  });
  await server.waitForHealth();
  return { base: server.base, platformKey: server.platformKey, output: server.output, stop: () => server.stop() };
}

/** One request to the API over HTTP (as any client), parsed. */
export function apiClient(base) {
  return async function api(method, path, { token, tenant, body, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (tenant) h["x-tenant"] = tenant;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await fetch(`${base}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, headers: res.headers };
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A fresh browser profile. bypassCSP lets playwright inject axe-core into pages whose CSP
 * (rightly) refuses any script the worker did not serve.
 */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

/** axe-core's rules in the page: no violation of impact "serious" or "critical". */
export async function expectAccessible(page, what) {
  await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `${what}: axe violations ${JSON.stringify(bad, null, 2)}`);
  return result;
}

/** Signs in through the console's form. */
export async function signIn(page, base, { tenant, email, password }) {
  await page.goto(`${base}/console/sign-in`);
  await page.getByLabel("Tenant", { exact: true }).fill(tenant);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForLoadState("load");
}

export const unique = () => randomBytes(4).toString("hex");
