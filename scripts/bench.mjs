#!/usr/bin/env node
// `npm run bench [-- --sizes 1000,10000,100000 --duration 10 --warmup 2 --rounds 3 --connections 16]`
//
// Builds the worker, runs it in workerd through Miniflare on 127.0.0.1 (one fresh state directory
// per tenant size under .bench/), seeds a tenant of N users straight into D1, drives every scenario
// with autocannon and writes BENCHMARKS.md and docs/benchmarks/latency-vs-size.svg.
// Other flags: --scenarios floor,me,… (a subset), --out FILE (another Markdown file, e.g. for a
// quick run that should not replace BENCHMARKS.md), --state-dir DIR (where workerd keeps D1 and
// the Durable Objects; default: a directory in memory, /dev/shm, where the machine has one).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createFixture, refreshToken, signInOnce } from "./bench/fixture.mjs";
import { benchmarksMarkdown, latencyChart } from "./bench/report.mjs";
import { SCENARIOS, runScenario } from "./bench/scenarios.mjs";
import { scryptInNode, signInAgainstHash } from "./bench/scrypt.mjs";
import { buildWorker, loadMiniflare, runtimeVersions, startServer } from "./bench/server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const benchDir = join(root, ".bench");

const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000,100000" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    scenarios: { type: "string" },
    out: { type: "string", default: "BENCHMARKS.md" },
    chart: { type: "string", default: "docs/benchmarks/latency-vs-size.svg" },
    "state-dir": { type: "string" },
  },
});

/**
 * Local D1 is SQLite in a file under the state directory, and a disk makes every query wait on
 * the file system (a bare SELECT 1 ran at 1,400 req/s on disk and 2,250 in memory here): that
 * would measure this machine's disk, not the worker, as wrangler dev's proxy would measure
 * wrangler. Production D1 is another machine's concern. So the state lives in memory by default.
 */
function defaultStateDir() {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return { dir: join("/dev/shm", `userplane-bench-${process.pid}`), inMemory: true };
  } catch {
    return { dir: join(benchDir, "state"), inMemory: false };
  }
}
const state = flags["state-dir"] ? { dir: flags["state-dir"], inMemory: false } : defaultStateDir();

function positiveInt(name, raw) {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || (n === 0 && name !== "warmup")) {
    console.error(`--${name} must be a whole number${name === "warmup" ? "" : " above 0"} (got ${raw})`);
    process.exit(2);
  }
  return n;
}

const sizes = flags.sizes.split(",").map((s) => positiveInt("sizes", s.replaceAll("_", "").trim()));
const settings = {
  duration: positiveInt("duration", flags.duration),
  warmup: positiveInt("warmup", flags.warmup),
  rounds: positiveInt("rounds", flags.rounds),
  connections: positiveInt("connections", flags.connections),
};
const chosen = flags.scenarios ? flags.scenarios.split(",").map((s) => s.trim()) : SCENARIOS.map((s) => s.id);
const unknown = chosen.filter((id) => !SCENARIOS.some((s) => s.id === id));
if (unknown.length) {
  console.error(`Unknown scenario(s) ${unknown.join(", ")}; choose from ${SCENARIOS.map((s) => s.id).join(", ")}`);
  process.exit(2);
}
if (sizes.some((n) => n < 100)) {
  console.error("--sizes: each tenant needs at least 100 users");
  process.exit(2);
}
const scenarios = SCENARIOS.filter((s) => chosen.includes(s.id));

const log = (line) => console.log(line);
const benchStarted = Date.now();

function machine() {
  const versions = runtimeVersions(root);
  const cpuInfo = (() => {
    try {
      return readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m)?.[1];
    } catch {
      return undefined;
    }
  })();
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpuInfo ?? os.cpus()[0]?.model ?? "unknown CPU",
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    workerd: versions.workerdVersion,
    miniflare: versions.miniflareVersion,
    wrangler: versions.wranglerVersion,
  };
}

/** Which code was measured: the commit, and whether src/ or migrations/ had uncommitted changes. */
function codeVersion() {
  const git = (...args) => spawnSync("git", args, { cwd: root, encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0) return "not a git checkout";
  const dirty = git("status", "--porcelain", "--", "src", "migrations", "wrangler.toml").stdout.trim();
  return `commit ${head.stdout.trim()}${dirty ? " plus uncommitted changes in src/ or migrations/" : ""}`;
}

/** Runs every scenario against one tenant size on its own fresh server. */
async function benchSize(size, scriptPath, Miniflare) {
  const platformKey = `up_bench_${randomBytes(24).toString("base64url")}`;
  log(`\n== ${size.toLocaleString("en-US")} users ==`);
  const server = await startServer({ root, scriptPath, stateDir: join(state.dir, String(size)), platformKey });
  activeServer = server;
  try {
    log(`  worker on ${server.url}`);
    const ctx = await createFixture({ base: server.url, db: server.db, platformKey, size, log });
    const results = [];
    for (const scenario of scenarios) {
      await refreshToken(ctx); // access tokens live 15 minutes; a scenario takes well under that
      log(`  ${scenario.label}`);
      results.push(await runScenario(server.url, scenario, ctx, settings, log));
    }
    // The hash reference, interleaved with single sign-ins so both see the same machine load.
    const scrypt = await signInAgainstHash(Miniflare, () => signInOnce(ctx));
    log(
      `  sign-in against one scrypt hash (${scrypt.tries} interleaved pairs): ${scrypt.signIn.toFixed(0)} ms / ` +
        `${scrypt.hash.toFixed(0)} ms = ${scrypt.ratio.toFixed(2)}×`,
    );
    return { size, seedSeconds: ctx.seedSeconds, deepPage: ctx.deepPage, scrypt, scenarios: results };
  } finally {
    activeServer = null;
    await server.dispose();
    if (state.inMemory) rmSync(join(state.dir, String(size)), { recursive: true, force: true });
  }
}

let activeServer = null;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    console.error(`\n${signal}: stopping the bench server`);
    await activeServer?.dispose().catch(() => {});
    process.exit(130);
  });
}

async function main() {
  mkdirSync(benchDir, { recursive: true });
  log("Building the worker (wrangler deploy --dry-run)…");
  const code = codeVersion();
  const scriptPath = buildWorker(root, join(benchDir, "build"));

  const Miniflare = await loadMiniflare(root);
  const scrypt = { node: await scryptInNode() };
  log(`One scrypt hash at the default parameters in Node: ${scrypt.node.toFixed(0)} ms`);

  const results = [];
  for (const size of sizes) {
    results.push(await benchSize(size, scriptPath, Miniflare));
    // Keep what is done so far even if a later (bigger) size fails or is interrupted.
    writeFileSync(join(benchDir, "results.json"), JSON.stringify({ settings, scrypt, results }, null, 2));
  }

  const chartFile = join(root, flags.chart);
  mkdirSync(dirname(chartFile), { recursive: true });
  writeFileSync(chartFile, latencyChart(results));
  const outFile = join(root, flags.out);
  const args = process.argv.slice(2);
  const markdown = benchmarksMarkdown({
    results,
    scrypt,
    machine: machine(),
    code,
    settings,
    command: `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    chartPath: relative(dirname(outFile), chartFile),
    durationSeconds: (Date.now() - benchStarted) / 1000,
    stateNote: state.inMemory
      ? "in memory, under /dev/shm, so local D1 does not wait on this machine's disk"
      : `under ${relative(root, state.dir) || state.dir}`,
  });
  writeFileSync(outFile, markdown + keptSections(outFile));
  if (state.inMemory) rmSync(state.dir, { recursive: true, force: true });
  log(`\nWrote ${relative(root, outFile)} and ${relative(root, chartFile)} (raw numbers: .bench/results.json).`);
}

/** Sections other benches own (scripts/bench/rpc.mjs), kept across a rewrite of BENCHMARKS.md. */
function keptSections(file) {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return "";
  }
  const kept = text.match(/<!-- ([a-z-]+):start -->[\s\S]*?<!-- \1:end -->/g) ?? [];
  return kept.map((section) => `\n${section}\n`).join("");
}

main().catch(async (error) => {
  console.error(`\nbench failed: ${error.stack ?? error}`);
  await activeServer?.dispose().catch(() => {});
  process.exit(1);
});
