#!/usr/bin/env node
// `node scripts/bench/rpc.mjs [--duration 4] [--rounds 3]`: what authenticate() through a service
// binding costs next to the HTTP route GET /v1/users/me, in one run of one workerd (Miniflare,
// the bench server of scripts/bench/server.mjs), sequential (1 connection) and concurrent (10).
//
//   rpc      Node → bench consumer → env.USERPLANE.authenticate(token)        (Workers RPC)
//   binding  Node → bench consumer → env.USERPLANE.fetch(GET /v1/users/me)     (HTTP over the binding)
//   http     Node → userplane GET /v1/users/me                                  (the HTTP route itself)
//
// `rpc` and `binding` pay the same extra hop through the consumer Worker; `http` has none, so
// rpc/http is the conservative ratio. Scenarios alternate within every round, so a slow moment
// of this shared machine weighs on all of them alike. Prints a BENCHMARKS.md section and, with
// --write, puts it into BENCHMARKS.md between its markers.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { call } from "./http.mjs";
import { runOnce } from "./scenarios.mjs";
import { buildWorker, runtimeVersions, startServer } from "./server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    write: { type: "boolean", default: false },
  },
});
const duration = Number(flags.duration);
const rounds = Number(flags.rounds);
const START = "<!-- rpc-bench:start -->";
const END = "<!-- rpc-bench:end -->";

const consumerWorker = {
  name: "bench-consumer",
  modules: true,
  compatibilityDate: "2026-04-01",
  // Its two paths; everything else reaches userplane (the first worker).
  routes: ["*/rpc", "*/binding"],
  serviceBindings: { USERPLANE: { name: "userplane", entrypoint: "UserplaneRpc" } },
  script: `export default {
    async fetch(request, env) {
      const token = (request.headers.get("Authorization") ?? "").slice("Bearer ".length);
      if (new URL(request.url).pathname === "/rpc") {
        const principal = await env.USERPLANE.authenticate(token);
        return principal ? Response.json(principal) : new Response(null, { status: 401 });
      }
      return env.USERPLANE.fetch(new Request("https://userplane.internal/v1/users/me", { headers: request.headers }));
    },
  };`,
};

const scenarios = [
  { id: "rpc", label: "authenticate() over the binding (RPC)", path: "/rpc" },
  { id: "binding", label: "GET /v1/users/me over the binding (fetch)", path: "/binding" },
  { id: "http", label: "GET /v1/users/me (HTTP, no consumer)", path: "/v1/users/me" },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const platformKey = `up_bench_${crypto.randomUUID()}`;
  const scriptPath = buildWorker(root, join(root, ".bench", "rpc-build"));
  const stateDir = existsSync("/dev/shm") ? `/dev/shm/userplane-rpc-bench-${process.pid}` : join(root, ".bench", "rpc-state");
  const server = await startServer({ root, scriptPath, stateDir, platformKey, otherWorkers: [consumerWorker] });
  try {
    const base = server.url;
    const password = "bench-owner-password";
    await call(base, "POST", "/v1/tenants", {
      token: platformKey,
      body: { slug: "rpc-bench", name: "RPC bench", owner: { email: "owner@rpc.bench", password } },
      expect: [201],
    });
    const { body } = await call(base, "POST", "/v1/auth/token", {
      body: { tenant: "rpc-bench", email: "owner@rpc.bench", password },
      expect: [200],
    });
    const headersFor = () => ({ authorization: `Bearer ${body.access_token}` });
    for (const s of scenarios) {
      const check = await fetch(new URL(s.path, base), { headers: headersFor(s) });
      if (check.status !== 200) throw new Error(`${s.id}: ${check.status} ${await check.text()}`);
    }

    const results = {};
    for (const connections of [1, 10]) {
      for (const s of scenarios) await runOnce(base, { method: "GET", path: s.path, headers: headersFor(s) }, { connections, duration: 1 });
      for (let round = 1; round <= rounds; round++) {
        for (const s of scenarios) {
          const run = await runOnce(base, { method: "GET", path: s.path, headers: headersFor(s) }, { connections, duration });
          if (run.non2xx || run.errors) throw new Error(`${s.id}: ${run.non2xx} non-2xx, ${run.errors} errors`);
          ((results[connections] ??= {})[s.id] ??= []).push(run);
          console.error(`  ${connections} conn, round ${round}, ${s.id}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms`);
        }
      }
    }
    const section = markdown(results);
    console.log(section);
    if (flags.write) writeSection(join(root, "BENCHMARKS.md"), section);
  } finally {
    await server.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function markdown(results) {
  const { workerdVersion, miniflareVersion } = runtimeVersions(root);
  const figure = (runs, key) => median(runs.map((r) => r[key]));
  const lines = [
    START,
    "## Workers RPC: authenticate() against GET /v1/users/me",
    "",
    `Written by \`node scripts/bench/rpc.mjs\` (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; ${cpus().length} CPUs shared with the load generator; workerd ${workerdVersion}, miniflare ${miniflareVersion}). One workerd runs userplane and a bench consumer Worker bound to \`UserplaneRpc\`; autocannon sends ${rounds} rounds of ${duration} s per scenario and concurrency, the scenarios alternating within each round; medians. The owner's access token of a fresh tenant; every request checks the session in D1.`,
    "",
    "| scenario | connections | req/s | p50 ms | p99 ms |",
    "|---|---:|---:|---:|---:|",
  ];
  const ratios = [];
  for (const [connections, byScenario] of Object.entries(results)) {
    for (const s of scenarios) {
      const runs = byScenario[s.id];
      lines.push(`| ${s.label} | ${connections} | ${figure(runs, "rps").toFixed(0)} | ${figure(runs, "p50").toFixed(2)} | ${figure(runs, "p99").toFixed(2)} |`);
    }
    const rpc = byScenario.rpc, http = byScenario.http, binding = byScenario.binding;
    ratios.push(
      `- ${connections} connection${connections === "1" ? "" : "s"}: authenticate() p50 is ${(figure(rpc, "p50") / figure(http, "p50")).toFixed(2)}× that of GET /v1/users/me over HTTP ` +
        `(${(figure(rpc, "p50") / figure(binding, "p50")).toFixed(2)}× the same route over the binding); throughput ${(figure(rpc, "rps") / figure(http, "rps")).toFixed(2)}× (${(figure(rpc, "rps") / figure(binding, "rps")).toFixed(2)}×).`,
    );
  }
  lines.push("", "Ratios (below 1× latency, above 1× throughput: authenticate() costs less):", "", ...ratios, END, "");
  return lines.join("\n");
}

/** Replaces this bench's section of BENCHMARKS.md (between its markers), or appends it. */
function writeSection(file, section) {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next =
    start >= 0 && end > start ? text.slice(0, start) + section.trimEnd() + text.slice(end + END.length) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(file, next);
  console.error(`wrote the RPC section of ${file}`);
}

main().catch((error) => {
  console.error(`rpc bench failed: ${error.stack ?? error}`);
  process.exit(1);
});
