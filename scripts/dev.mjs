#!/usr/bin/env node
// `npm run dev [-- <wrangler dev flags>]`: local development with no setup.
//
// 1. Creates `.dev.vars` (git-ignored) with a random development BOOTSTRAP_API_KEY if missing, and
//    a WEBHOOK_SECRET_KEY (webhook secrets are stored encrypted with it) if it has none.
// 2. Applies the D1 migrations to local storage (into `--persist-to DIR` when given, so the
//    server below reads the same database).
// 3. Prints the platform key and a curl that creates a first tenant.
// 4. Runs `wrangler dev` with every flag passed through, forwarding SIGINT/SIGTERM and exiting
//    with its code.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", ".bin", process.platform === "win32" ? "wrangler.cmd" : "wrangler");
const devVarsPath = join(root, ".dev.vars");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const args = process.argv.slice(2);

/** Value of `--name value` or `--name=value` (last one wins, as in wrangler), else undefined. */
function flagValues(name) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === name && i + 1 < args.length) values.push(args[++i]);
    else if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1));
  }
  return values;
}

/** Keys passed as `--var NAME:VALUE` (wrangler accepts several after one `--var`, too). */
function passedVars() {
  const vars = new Map();
  for (let i = 0; i < args.length; i++) {
    let values = [];
    if (args[i] === "--var") {
      for (let j = i + 1; j < args.length && !args[j].startsWith("-"); j++) values.push(args[j]);
    } else if (args[i].startsWith("--var=")) {
      values = [args[i].slice("--var=".length)];
    }
    for (const pair of values) {
      const colon = pair.indexOf(":");
      if (colon > 0) vars.set(pair.slice(0, colon), pair.slice(colon + 1));
    }
  }
  return vars;
}

function readDevVar(name) {
  const match = readFileSync(devVarsPath, "utf8").match(new RegExp(`^\\s*${name}\\s*=\\s*"?([^"\\n]*)"?\\s*$`, "m"));
  return match?.[1];
}

// 1. A development platform key, generated once per checkout and never committed.
if (!existsSync(devVarsPath)) {
  const key = `up_dev_${randomBytes(32).toString("base64url")}`;
  writeFileSync(
    devVarsPath,
    `# Local development secrets for \`wrangler dev\` (git-ignored; delete to regenerate).\nBOOTSTRAP_API_KEY="${key}"\n`,
    { mode: 0o600 },
  );
  console.log("Created .dev.vars with a new development BOOTSTRAP_API_KEY.");
}
// A development key for webhook signing secrets at rest; added to an older .dev.vars as well.
if (!readDevVar("WEBHOOK_SECRET_KEY")) {
  appendFileSync(devVarsPath, `WEBHOOK_SECRET_KEY="${randomBytes(32).toString("base64url")}"\n`);
  console.log("Added a development WEBHOOK_SECRET_KEY to .dev.vars.");
}

// 2. Local migrations, into the same storage `wrangler dev` will use.
const persistTo = flagValues("--persist-to").at(-1);
const migrate = spawnSync(
  wrangler,
  ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])],
  // stdin not a TTY: wrangler applies local migrations without its "Ok to proceed?" prompt.
  { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] },
);
if (migrate.error) {
  console.error(`Could not run wrangler (${migrate.error.message}). Did you run \`npm install\`?`);
  process.exit(1);
}
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// 3. How to use it.
const port = flagValues("--port").at(-1) ?? "8787";
const key = passedVars().get("BOOTSTRAP_API_KEY") ?? readDevVar("BOOTSTRAP_API_KEY") ?? "<BOOTSTRAP_API_KEY>";
const body = JSON.stringify({
  slug: "acme",
  name: "Acme",
  owner: { email: "owner@acme.test", password: "change-me-please" },
});
console.log(`
userplane dev: http://localhost:${port}
  Platform key (BOOTSTRAP_API_KEY): ${key}
  Create a tenant with a first owner:
    curl -X POST http://localhost:${port}/v1/tenants -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" -d '${body}'
  OpenAPI: http://localhost:${port}/openapi.json  Docs: http://localhost:${port}/docs
  Webhooks run on the local queue; to deliver to http://127.0.0.1 receivers add --var WEBHOOK_ALLOW_INSECURE_URLS:true
`);

// 4. The dev server, with the user's flags.
const child = spawn(wrangler, ["dev", ...args], { cwd: root, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
// `kill <npm pid>` stops npm and its `sh -c`, but sh does not pass the signal on: without this
// watch, this script and the server would linger as orphans holding the port.
const parentPid = process.ppid;
const parentWatch = setInterval(() => {
  if (process.ppid !== parentPid && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
  }
}, 1000);
parentWatch.unref();
child.on("error", (error) => {
  console.error(`Could not start wrangler dev: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (code !== null) process.exit(code);
  // Killed by a signal: exit the conventional way (128 + signal number).
  process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 }[signal] ?? 1));
});
