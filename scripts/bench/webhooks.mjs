#!/usr/bin/env node
// Webhook throughput under `npm run dev` (issue 13's target: 1,000 events produced in a burst reach
// a local receiver within 30 s, each exactly once when the receiver answers 200).
//
//   node scripts/bench/webhooks.mjs [--events 1000] [--concurrency 25] [--mode burst|requests]
//
// Starts `npm run dev` on 127.0.0.1 (BENCH_PORT, default 8807; BENCH_INSPECTOR_PORT, default 9307)
// with fresh storage and WEBHOOK_ALLOW_INSECURE_URLS=true, a node:http receiver on 127.0.0.1
// (BENCH_RECEIVER_PORT, default 8817) answering 200, creates a tenant and an endpoint for
// the event types, and produces the events:
// - burst (default): one request records them all in one transaction: a manager with events-1
//   managed users (seeded straight into local D1 with `wrangler d1 execute`) is deleted, which
//   records a user.deleted event per user;
// - requests: POST /v1/users as fast as `concurrency` connections allow (one user.created each).
// Measures from the first request to the last delivery received, and counts duplicates and misses
// by webhook-id. Prints a JSON summary; stops the server by the process id it spawned.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg("events", 1000);
const CONCURRENCY = arg("concurrency", 25);
const MODE = process.argv.includes("requests") ? "requests" : "burst";
const DEADLINE_MS = 120_000;
const port = Number(process.env.BENCH_PORT) || 8807;
const receiverPort = Number(process.env.BENCH_RECEIVER_PORT) || 8817;
const inspectorPort = process.env.BENCH_INSPECTOR_PORT || "9307";
const base = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The receiver: answers 200 at once and records when each webhook-id arrived.
const arrivals = new Map();
let duplicates = 0;
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const id = req.headers["webhook-id"];
    if (arrivals.has(id)) duplicates++;
    else arrivals.set(id, { at: Date.now(), event: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
    res.writeHead(200).end();
  });
});
await new Promise((resolve) => receiver.listen(receiverPort, "127.0.0.1", resolve));

const persistDir = mkdtempSync(join(tmpdir(), "userplane-bench-webhooks-"));
// The server's output goes to a log file (its path is printed), not into the summary.
const logPath = join(tmpdir(), `userplane-bench-webhooks-${process.pid}.log`);
const log = openSync(logPath, "w");
console.error(`npm run dev output: ${logPath}`);
const platformKey = `up_bench_${randomBytes(24).toString("base64url")}`;
const server = spawn(
  "npm",
  ["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", inspectorPort, "--persist-to", persistDir,
    "--var", `BOOTSTRAP_API_KEY:${platformKey}`, "WEBHOOK_ALLOW_INSECURE_URLS:true"],
  { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", log, log], detached: true },
);

async function stop() {
  try {
    process.kill(server.pid, "SIGTERM");
  } catch {}
  for (let i = 0; i < 80; i++) {
    try {
      process.kill(-server.pid, 0);
    } catch {
      break;
    }
    await sleep(250);
  }
  try {
    process.kill(-server.pid, "SIGKILL");
  } catch {}
  receiver.close();
  rmSync(persistDir, { recursive: true, force: true });
}

/** A manager and count-1 users they manage, written straight into the local D1 of the dev server. */
function seedManagedTree(tenantId, count) {
  const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  const id = () => `usr_${Array.from(randomBytes(26), (b) => alphabet[b % 32]).join("")}`;
  const ids = Array.from({ length: count }, id);
  const now = new Date().toISOString();
  const rows = ids.map((u, i) =>
    i === 0
      ? `('${u}', '${tenantId}', 'manager@bench.test', 0, NULL, '${now}', '${now}')`
      : `('${u}', '${tenantId}', NULL, 1, '${ids[0]}', '${now}', '${now}')`,
  );
  const file = join(tmpdir(), `userplane-bench-webhooks-seed-${process.pid}.sql`);
  const insert = "INSERT INTO users (id, tenant_id, email, is_managed, manager_id, created_at, updated_at) VALUES";
  const statements = [];
  for (let i = 0; i < rows.length; i += 100) statements.push(`${insert}\n${rows.slice(i, i + 100).join(",\n")};`);
  writeFileSync(file, `${statements.join("\n")}\n`);
  const wrangler = join(root, "node_modules", ".bin", "wrangler");
  const seeded = spawnSync(wrangler, ["d1", "execute", "DB", "--local", "--persist-to", persistDir, "--file", file], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  rmSync(file, { force: true });
  if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr || seeded.stdout}`);
  return ids;
}

async function http(method, path, body, tenant) {
  const headers = { authorization: `Bearer ${platformKey}`, "content-type": "application/json" };
  if (tenant) headers["x-tenant"] = tenant;
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}

try {
  for (let started = Date.now(); ; await sleep(500)) {
    if (Date.now() - started > 120_000) throw new Error("npm run dev did not answer /healthz within 120 s");
    try {
      if ((await fetch(`${base}/healthz`)).status === 200) break;
    } catch {}
  }
  const tenant = await http("POST", "/v1/tenants", { slug: `bench-${randomBytes(3).toString("hex")}`, name: "Webhook bench" });
  await http("POST", "/v1/webhooks", { url: `http://127.0.0.1:${receiverPort}/hook`, events: ["user.created", "user.deleted"] }, tenant.id);

  const created = new Set();
  let t0;
  if (MODE === "burst") {
    const ids = seedManagedTree(tenant.id, EVENTS);
    ids.forEach((id) => created.add(id));
    // Seeding takes seconds: the server has closed the idle keep-alive connection by now, and the
    // first request on it fails; a GET (harmless to repeat) takes that hit instead of the DELETE.
    await fetch(`${base}/healthz`).catch(() => fetch(`${base}/healthz`));
    t0 = Date.now();
    await http("DELETE", `/v1/users/${ids[0]}`, undefined, tenant.id);
  } else {
    t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EVENTS) {
          const i = next++;
          const user = await http("POST", "/v1/users", { email: `u${i}@bench.test` }, tenant.id);
          created.add(user.id);
        }
      }),
    );
  }
  const producedMs = Date.now() - t0;
  while (arrivals.size < EVENTS && Date.now() - t0 < DEADLINE_MS) await sleep(100);
  await sleep(3000); // late duplicates, if any, would show here
  const received = [...arrivals.values()];
  const lastMs = Math.max(...received.map((r) => r.at)) - t0;
  const lags = received.map((r) => r.at - Date.parse(r.event.created_at)).sort((a, b) => a - b);
  const receivedUsers = new Set(received.map((r) => r.event.data.user_id));
  const missing = [...created].filter((id) => !receivedUsers.has(id)).length;
  const summary = {
    mode: MODE,
    events: EVENTS,
    ...(MODE === "requests" ? { concurrency: CONCURRENCY } : {}),
    produced_ms: producedMs,
    all_received_ms: arrivals.size >= EVENTS ? lastMs : null,
    received: arrivals.size,
    duplicates,
    missing,
    lag_ms: { p50: lags[Math.floor(lags.length * 0.5)], p95: lags[Math.floor(lags.length * 0.95)], max: lags.at(-1) },
    within_30s: arrivals.size >= EVENTS && lastMs <= 30_000 && duplicates === 0 && missing === 0,
  };
  console.log(JSON.stringify(summary, null, 2));
  process.exitCode = summary.within_30s ? 0 : 1;
} catch (err) {
  console.error(err.message, err.cause ?? "");
  process.exitCode = 1;
} finally {
  await stop();
}
