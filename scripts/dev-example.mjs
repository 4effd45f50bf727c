#!/usr/bin/env node
// `npm run dev:example [-- <wrangler dev flags>]`: examples/consumer-worker and userplane in one
// `wrangler dev` (two -c configs in one process; the first one is served). The example forwards
// userplane's own routes (/v1/*, /openapi.json…) to its binding, so one port serves both.
// Everything else (the .dev.vars platform key, local migrations, the hint) is scripts/dev.mjs.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
// One state directory for both configs, and the one the migrations go to.
const persist = args.some((a) => a === "--persist-to" || a.startsWith("--persist-to=")) ? [] : ["--persist-to", ".wrangler/state"];
const port = args.some((a) => a === "--port" || a.startsWith("--port=")) ? "" : "8787";
const portArgs = port ? ["--port", port] : [];

console.log(`consumer-worker (examples/consumer-worker) with userplane behind its USERPLANE binding.
  Then, with a token from POST /v1/auth/token:
    curl http://localhost:${port || "<port>"}/tasks -H "Authorization: Bearer <token>"   (needs tasks:read)
`);
const child = spawn(
  process.execPath,
  [join(root, "scripts", "dev.mjs"), "-c", "examples/consumer-worker/wrangler.toml", "-c", "wrangler.toml", ...persist, ...portArgs, ...args],
  { cwd: root, stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
// `kill <npm pid>`: sh does not pass the signal on; when this script is orphaned, stop the server
// (dev.mjs does the same for wrangler when this script goes).
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) child.kill("SIGTERM");
}, 1000).unref();
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 143)));
