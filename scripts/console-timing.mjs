#!/usr/bin/env node
// The console's users page on a 100,000-user tenant, timed under `npm run dev` (issue 14's target:
// under 300 ms server time). Starts the worker as the README says, creates a tenant through the
// API, seeds its users straight into the local D1 with `wrangler d1 execute --file` (the bench's
// deterministic generator), signs in through the console and reads each page's Server-Timing.
//   node scripts/console-timing.mjs [users=100000] [rounds=15]
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiClient, startWorker } from "../test/e2e/harness.mjs";
import { generateUsers, RARE_LAST_NAME, seedUsers } from "./bench/seed.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const size = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 15);

/** seedUsers' statements, collected instead of sent, for one SQL file. */
async function seedSql(tenantId, users) {
  const statements = [];
  await seedUsers({ prepare: (s) => s, batch: async (list) => statements.push(...list) }, tenantId, users);
  return statements.join(";\n") + ";\n";
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];

// The tenant through the API; then, with the worker stopped, its users straight into local D1.
const setup = await startWorker();
const owner = { email: "owner@big.test", password: "owner-password-1" };
const tenant = (await apiClient(setup.base)("POST", "/v1/tenants", { token: setup.platformKey, body: { slug: "big", name: "Big", owner } })).body;
await setup.stop({ keep: true });
let worker;
try {
  const started = Date.now();
  const file = join(tmpdir(), `userplane-console-seed-${process.pid}.sql`);
  writeFileSync(file, await seedSql(tenant.id, generateUsers(size)));
  const seeded = spawnSync(join(root, "node_modules", ".bin", "wrangler"), ["d1", "execute", "DB", "--local", "--persist-to", setup.persistDir, "--file", file], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  rmSync(file, { force: true });
  if (seeded.status !== 0) throw new Error("wrangler d1 execute failed");
  console.log(`seeded ${size.toLocaleString("en-US")} users in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  worker = await startWorker({ persistTo: setup.persistDir, platformKey: setup.platformKey });

  const signIn = await fetch(`${worker.base}/console/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: worker.base },
    body: new URLSearchParams({ tenant: "big", email: owner.email, password: owner.password }),
  });
  const cookie = signIn.headers.getSetCookie().find((c) => c.startsWith("token=")).split(";")[0];
  const firstPage = await (await fetch(`${worker.base}/console/users?sort=email`, { headers: { cookie } })).text();
  const next = /name="cursor" value="([^"]+)"[^>]*>Next/.exec(firstPage)?.[1];
  const someone = /href="\/console\/users\/(usr_[^"]+)"/.exec(firstPage)?.[1];
  const pages = {
    "users (default: newest first) + total": "/console/users",
    "users sorted by email, page 2": `/console/users?sort=email&cursor=${encodeURIComponent(next)}`,
    [`users, search "${RARE_LAST_NAME.slice(1, 5).toLowerCase()}"`]: `/console/users?search=${RARE_LAST_NAME.slice(1, 5).toLowerCase()}`,
    "users, status inactive, role member": "/console/users?status=inactive&role=member",
    "a user's page": `/console/users/${someone}`,
  };
  console.log(`\n${rounds} rounds each after one warm-up; Server-Timing app;dur (ms) and the whole HTTP round trip (ms)`);
  console.log("| page | server p50 | server p95 | round trip p50 |\n|---|---|---|---|");
  for (const [name, path] of Object.entries(pages)) {
    const server = [];
    const total = [];
    for (let i = 0; i <= rounds; i++) {
      const t0 = performance.now();
      const res = await fetch(`${worker.base}${path}`, { headers: { cookie } });
      await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      if (i === 0) continue;
      total.push(performance.now() - t0);
      server.push(Number(/dur=([\d.]+)/.exec(res.headers.get("server-timing"))[1]));
    }
    console.log(`| ${name} | ${quantile(server, 0.5).toFixed(0)} | ${quantile(server, 0.95).toFixed(0)} | ${quantile(total, 0.5).toFixed(0)} |`);
  }
} catch (error) {
  console.error(worker?.output.join("").slice(-3000));
  throw error;
} finally {
  if (worker) await worker.stop();
  else rmSync(setup.persistDir, { recursive: true, force: true });
}
