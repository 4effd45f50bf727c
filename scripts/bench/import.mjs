#!/usr/bin/env node
// `npm run bench:import [-- --users N]`: the migration target "100,000 users (bcrypt hashes)
// imported through the CLI into npm run dev with no failed item". Writes N (default 100,000)
// users in Auth0's export NDJSON with bcrypt hashes, starts `npm run dev` (scripts/lib), creates a
// tenant, runs `userplane import --from auth0` and times it, checks that nothing failed, exports
// the tenant back (timed too), and signs a few users in with their passwords. Writes the figures
// into BENCHMARKS.md's "Import through the CLI" section (between its markers; `npm run bench`
// rewrites the file, so run this one after it); exits non-zero when any item failed.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { execSync } from "node:child_process";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { root, startDevServer } from "../lib/dev-server.mjs";
import { check, expectStatus, httpClient, runSteps } from "../lib/steps.mjs";

const { values } = parseArgs({ options: { users: { type: "string", default: "100000" } } });
const USERS = Number(values.users);
if (!Number.isInteger(USERS) || USERS < 1) throw new Error("--users must be a positive integer");

// One real bcrypt hash per distinct password (cost 10, as Auth0 makes them), reused across the
// users: hashing 100k passwords would take longer than the import. Made with bcryptjs 3.0.2
// (`bcrypt.hashSync(password, 10)`), an implementation independent of userplane's.
const PASSWORDS = [
  ["bench-password-1", "$2b$10$Pc4RyoA54v/qS75HmR4MPu0rPPe1gS5k5z5UYqV8acq9aG/KehAny"],
  ["bench-password-2", "$2b$10$uA/B2r20Q1cmEuN0DiGsvu4QgHDzG/gDcT4pM04nMSmAwzvq7rUxy"],
  ["bench-password-3", "$2b$10$o6UWjBH4IFL4rUx7oE5VIOTCYfYboxgJlLqMO88nsL7i60Ov8g9X6"],
  ["bench-password-4", "$2b$10$zOHeh4iGY.rSvug1vGAMk.HSssko/IJHdheElzTandjtzGGQrHQzy"],
  ["bench-password-5", "$2b$10$mKbz17qv3FIc0pXvvPvlAu8/7Y8a3bvoqkEY/F2GiGCwnltIB2zaO"],
  ["bench-password-6", "$2b$10$pmrU2eTFLEhgEWDaIsUeU.jk10x35aV2QuQM2y6zTlz1NN7/qufvS"],
  ["bench-password-7", "$2b$10$qdcZtnIbtS/jwpQPSdhxMeWTcU48ylaMnEkbFHGhtcnO2vBkC/.nW"],
  ["bench-password-8", "$2b$10$xE0TI/149DN.34ovXZqCd.iNsqqI9eJz5RMxAuSAG3urVIn5ZySAS"],
];
const GIVEN = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"];
const FAMILY = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"];

/** User i as a line of Auth0's user export with the hash export's passwordHash merged in. */
function auth0User(i) {
  const created = new Date(Date.UTC(2019, 0, 1) + i * 60_000).toISOString();
  return {
    user_id: `auth0|bench${String(i).padStart(7, "0")}`,
    email: `user${i}@bench.example`,
    email_verified: i % 3 !== 0,
    given_name: GIVEN[i % GIVEN.length],
    family_name: FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length],
    created_at: created,
    last_login: i % 4 === 0 ? null : new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
    logins_count: i % 50,
    user_metadata: { plan: ["free", "pro", "team"][i % 3], locale: "en" },
    app_metadata: { account: `acct_${i % 997}` },
    blocked: i % 100 === 99,
    passwordHash: PASSWORDS[i % PASSWORDS.length][1],
  };
}

async function writeUsers(path) {
  const out = createWriteStream(path);
  for (let i = 0; i < USERS; i++) {
    if (!out.write(`${JSON.stringify(auth0User(i))}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

/** The CLI as `npm run userplane -- …` runs it; progress shows on this terminal. */
function cli(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, "scripts", "userplane.mjs"), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.on("exit", (code) => resolve({ code, stdout }));
  });
}

const server = await startDevServer({ name: "bench-import" });
const http = httpClient(server.base);
const work = mkdtempSync(join(tmpdir(), "userplane-bench-import-"));
const file = join(work, "auth0-users.ndjson");
const slug = `bench-import-${randomBytes(3).toString("hex")}`;
const env = { USERPLANE_URL: server.base, USERPLANE_KEY: server.platformKey, USERPLANE_TENANT: slug };
const figures = {};

const steps = [
  [`write ${USERS.toLocaleString("en-US")} Auth0 users with bcrypt hashes`, () => writeUsers(file)],
  ["server answers GET /healthz", () => server.waitForHealth()],
  ["create the tenant", async () => {
    expectStatus(await http("POST", "/v1/tenants", { token: server.platformKey, body: { slug, name: "Import bench" } }), 201, "create tenant");
  }],
  ["userplane import --from auth0 (1,000 users per request)", async () => {
    const started = performance.now();
    const result = await cli(["import", "--from", "auth0", file, "--json"], env);
    figures.importSeconds = (performance.now() - started) / 1000;
    const summary = JSON.parse(result.stdout.trim().split("\n").at(-1) || "null");
    figures.import = summary;
    check(result.code === 0 && summary?.failed === 0 && summary.created === USERS, `exit ${result.code}: ${result.stdout}`);
  }],
  ["userplane export (every page) gives every user back", async () => {
    const started = performance.now();
    const out = join(work, "export.ndjson");
    const result = await cli(["export", "--out", out, "--limit", "10000", "--json"], env);
    figures.exportSeconds = (performance.now() - started) / 1000;
    check(result.code === 0, `export exit ${result.code}`);
    const lines = readFileSync(out, "utf8").trimEnd().split("\n").length;
    check(lines === USERS, `export has ${lines} lines`);
  }],
  ["sampled users sign in with their old passwords", async () => {
    for (const i of [0, 1, Math.floor(USERS / 2), USERS - 2].filter((n, k, all) => n >= 0 && n < USERS && all.indexOf(n) === k && n % 100 !== 99)) {
      const [password] = PASSWORDS[i % PASSWORDS.length];
      expectStatus(await http("POST", "/v1/auth/token", { body: { tenant: slug, email: `user${i}@bench.example`, password } }), 200, `user${i} signs in`);
    }
  }],
];

const BEGIN = "<!-- import-bench:start -->";
const END = "<!-- import-bench:end -->";

/** The BENCHMARKS.md section, from this run's figures. */
function section() {
  const n = USERS.toLocaleString("en-US");
  const rate = (seconds) => Math.round(USERS / seconds).toLocaleString("en-US");
  let commit = "unknown";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: root, encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  return [
    BEGIN,
    "## Import through the CLI",
    "",
    `Written by \`npm run bench:import\` (scripts/bench/import.mjs): ${n} users in Auth0's export NDJSON with`,
    "bcrypt hashes (cost 10; 8 distinct real hashes, reused) imported by `npm run userplane -- import --from auth0`",
    "into `npm run dev` (wrangler dev, local D1), 1,000 users per request, then exported back.",
    "",
    `- Date: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; code: commit ${commit}`,
    `- Machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}); Node ${process.version}. The CLI and wrangler dev share them.`,
    "",
    "| step | users | time | users/s | failed |",
    "|---|---:|---:|---:|---:|",
    `| import (CLI → POST /v1/users/import) | ${n} | ${figures.importSeconds.toFixed(1)} s | ${rate(figures.importSeconds)} | ${figures.import.failed} |`,
    ...(figures.exportSeconds ? [`| export (CLI ← GET /v1/users/export, 10,000 per page) | ${n} | ${figures.exportSeconds.toFixed(1)} s | ${rate(figures.exportSeconds)} | – |`] : []),
    END,
  ].join("\n");
}

const code = await runSteps(steps, server);
rmSync(work, { recursive: true, force: true });
if (code === 0) {
  const text = section();
  const path = join(root, "BENCHMARKS.md");
  const current = readFileSync(path, "utf8");
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? `${current.slice(0, start)}${text}${current.slice(end + END.length)}` : `${current.trimEnd()}\n\n${text}\n`;
  writeFileSync(path, next);
  console.log(`\n${text}\n\n(written to BENCHMARKS.md)`);
}
process.exit(code);
