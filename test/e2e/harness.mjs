// Shared by the console's browser tests: starts the worker exactly as the README says
//   npm run dev -- --port <free port> --ip 127.0.0.1 --persist-to <tmp dir> --var BOOTSTRAP_API_KEY:<random> …
// drives Debian's chromium through playwright-core, and checks pages with axe-core.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { freePort } from "../../scripts/lib/dev-server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve("axe-core/axe.min.js");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const STARTUP_TIMEOUT_MS = 120_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The worker under `npm run dev`, on a free 127.0.0.1 port with its own temporary storage. */
export async function startWorker({ vars = {}, persistTo, platformKey: givenKey } = {}) {
  const port = Number(process.env.E2E_PORT) || (await freePort());
  const base = `http://127.0.0.1:${port}`;
  const persistDir = persistTo ?? mkdtempSync(join(tmpdir(), "userplane-e2e-"));
  const platformKey = givenKey ?? `up_e2e_${randomBytes(24).toString("base64url")}`;
  // Cheap password hashing: the flows sign in often; the cost parameters are not under test here.
  const allVars = { BOOTSTRAP_API_KEY: platformKey, PASSWORD_SCRYPT_PARAMS: "1024,8,1", ...vars };
  const args = ["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistDir];
  // Its own inspector port too: the default (9229) may be taken by another wrangler on the machine.
  args.push("--inspector-port", process.env.E2E_INSPECTOR_PORT ?? String(await freePort()));
  for (const [k, v] of Object.entries(allVars)) args.push("--var", `${k}:${v}`);
  const output = [];
  const child = spawn("npm", args, {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const s of [child.stdout, child.stderr]) {
    s.setEncoding("utf8");
    s.on("data", (chunk) => output.push(chunk));
  }
  let exited = false;
  child.on("exit", () => (exited = true));
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`npm run dev exited:\n${output.join("").slice(-3000)}`);
    try {
      if ((await fetch(`${base}/healthz`)).status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("the worker did not answer /healthz in time");
    await sleep(300);
  }
  /** Stops the worker; its storage is removed unless `keep` (to start another worker on it). */
  async function stop({ keep = false } = {}) {
    if (!exited) process.kill(child.pid, "SIGTERM");
    for (let i = 0; i < 80 && !exited; i++) await sleep(250);
    // Still there: end the process group this test started, by its id.
    if (!exited) process.kill(-child.pid, "SIGKILL");
    if (!keep) rmSync(persistDir, { recursive: true, force: true });
  }
  return { base, platformKey, persistDir, stop, output };
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
