#!/usr/bin/env node
// `npm run bench:rpc` (node scripts/bench/rpc.mjs [--calls 40] [--rounds 31] [--write]): what
// authenticate() through a service binding costs next to the HTTP route GET /v1/users/me, in one
// run of one workerd (Miniflare, the bench server of scripts/bench/server.mjs).
//
// A bench consumer Worker, bound to UserplaneRpc as a sibling Worker would be, times batches of
// calls itself: `--calls` sequential calls, then the same number as 10 concurrent chains, of
//   rpc    env.USERPLANE.authenticate(token)                    (Workers RPC)
//   http   env.USERPLANE.fetch(GET /v1/users/me) + its JSON     (the HTTP route, served in-process)
// The HTTP side here is the cheapest an HTTP call to the route can be (no network, no TLS); a
// sibling Worker calling userplane's URL pays more. Timing inside workerd keeps the load
// generator off the measurement; batches alternate within every round, so a slow moment of this
// shared machine weighs on both alike; the headline is the median of the per-round ratios.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { call } from "./http.mjs";
import { buildWorker, runtimeVersions, startServer } from "./server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: flags } = parseArgs({
  options: {
    calls: { type: "string", default: "40" },
    rounds: { type: "string", default: "31" },
    write: { type: "boolean", default: false },
  },
});
const calls = Number(flags.calls);
const rounds = Number(flags.rounds);
const PARALLEL = 10;
const START = "<!-- rpc-bench:start -->";
const END = "<!-- rpc-bench:end -->";

const consumerWorker = {
  name: "bench-consumer",
  modules: true,
  compatibilityDate: "2026-04-01",
  // Its one path; everything else reaches userplane (the first worker).
  routes: ["*/batch*"],
  serviceBindings: { USERPLANE: { name: "userplane", entrypoint: "UserplaneRpc" } },
  script: `
    const once = {
      rpc: async (env, token) => {
        if (!(await env.USERPLANE.authenticate(token))) throw new Error("authenticate refused the token");
      },
      http: async (env, token) => {
        const response = await env.USERPLANE.fetch(new Request("https://userplane.internal/v1/users/me", { headers: { Authorization: "Bearer " + token } }));
        if (response.status !== 200) throw new Error("GET /v1/users/me: " + response.status);
        await response.json();
      },
    };
    export default {
      async fetch(request, env) {
        const url = new URL(request.url);
        const token = (request.headers.get("Authorization") ?? "").slice("Bearer ".length);
        const call = once[url.searchParams.get("kind")];
        const calls = Number(url.searchParams.get("calls"));
        const chains = Number(url.searchParams.get("chains"));
        const started = Date.now(); // workerd advances the clock at I/O: each call is I/O
        await Promise.all(Array.from({ length: chains }, async () => {
          for (let i = 0; i < calls / chains; i++) await call(env, token);
        }));
        return Response.json({ ms: Date.now() - started });
      },
    };`,
};

const kinds = [
  { id: "rpc", label: "authenticate(token) over the binding (RPC)" },
  { id: "http", label: "GET /v1/users/me over the binding (HTTP route)" },
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
    const batch = async (kind, chains) =>
      (await call(base, "GET", `/batch?kind=${kind}&calls=${calls}&chains=${chains}`, { token: body.access_token })).body.ms / calls;

    const results = {};
    for (const chains of [1, PARALLEL]) {
      for (const k of kinds) await batch(k.id, chains); // warm-up
      for (let round = 1; round <= rounds; round++) {
        for (const k of round % 2 ? kinds : [...kinds].reverse()) {
          ((results[chains] ??= {})[k.id] ??= []).push(await batch(k.id, chains));
        }
        console.error(`  ${chains} chain(s), round ${round}: ${kinds.map((k) => `${k.id} ${results[chains][k.id].at(-1).toFixed(2)} ms/call`).join(", ")}`);
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
  const lines = [
    START,
    "## Workers RPC: authenticate() against GET /v1/users/me",
    "",
    `Written by \`npm run bench:rpc\` (scripts/bench/rpc.mjs; ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; ${cpus().length} CPUs shared with other work; workerd ${workerdVersion}, miniflare ${miniflareVersion}). One workerd runs userplane and a consumer Worker bound to \`UserplaneRpc\`, which times ${calls} calls per batch itself (sequential, then ${PARALLEL} concurrent chains), the two kinds alternating in each of ${rounds} rounds; medians of the rounds. The owner's access token of a fresh tenant: each call verifies it and checks the session in D1. The HTTP side is the route served in-process over the same binding, the cheapest an HTTP call to it can be; over the network it costs more.`,
    "",
    "| call | concurrency | ms per call (median) | fastest round | slowest round |",
    "|---|---:|---:|---:|---:|",
  ];
  const ratios = [];
  for (const [chains, byKind] of Object.entries(results)) {
    for (const k of kinds) {
      const xs = byKind[k.id];
      lines.push(`| ${k.label} | ${chains} | ${median(xs).toFixed(3)} | ${Math.min(...xs).toFixed(3)} | ${Math.max(...xs).toFixed(3)} |`);
    }
    // Each round's two batches ran back to back: their ratio cancels the machine's slower moments.
    const perRound = byKind.rpc.map((x, i) => x / byKind.http[i]).sort((a, b) => a - b);
    const quartile = (q) => perRound[Math.min(perRound.length - 1, Math.floor(q * perRound.length))];
    ratios.push(
      `- ${chains === "1" ? "sequential" : `${chains} concurrent`}: authenticate() costs **${median(perRound).toFixed(2)}×** GET /v1/users/me (median of the per-round ratios; middle half ${quartile(0.25).toFixed(2)}–${quartile(0.75).toFixed(2)}×; ratio of the medians ${(median(byKind.rpc) / median(byKind.http)).toFixed(2)}×).`,
    );
  }
  lines.push("", "Target: authenticate() through the binding costs no more than the route (≤ 1×).", "", ...ratios, END, "");
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
