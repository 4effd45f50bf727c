// The bench server: the built worker in workerd through Miniflare's API, on 127.0.0.1, with its
// own state directory. Not `wrangler dev`: its proxy reports every D1 query to its own process
// and adds milliseconds per query, so it would measure wrangler rather than the worker.
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/**
 * Miniflare and workerd exactly as wrangler 4.86 uses them (wrangler's own dependency, which may
 * differ from the copy another package hoisted to the top of node_modules).
 */
function fromWrangler(root) {
  const rootRequire = createRequire(join(root, "package.json"));
  const wranglerRequire = createRequire(rootRequire.resolve("wrangler/package.json"));
  const miniflareEntry = wranglerRequire.resolve("miniflare");
  const miniflareRequire = createRequire(miniflareEntry);
  return {
    miniflareEntry,
    miniflareVersion: JSON.parse(readFileSync(wranglerRequire.resolve("miniflare/package.json"), "utf8")).version,
    workerdVersion: JSON.parse(readFileSync(miniflareRequire.resolve("workerd/package.json"), "utf8")).version,
    wranglerVersion: JSON.parse(readFileSync(rootRequire.resolve("wrangler/package.json"), "utf8")).version,
  };
}

export function runtimeVersions(root) {
  const { miniflareVersion, workerdVersion, wranglerVersion } = fromWrangler(root);
  return { miniflareVersion, workerdVersion, wranglerVersion };
}

export async function loadMiniflare(root) {
  const { miniflareEntry } = fromWrangler(root);
  return (await import(miniflareEntry)).Miniflare;
}

/** Bundles src/ the way `wrangler deploy` would (no network needed with --dry-run). */
export function buildWorker(root, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  const wrangler = join(root, "node_modules", ".bin", "wrangler");
  const result = spawnSync(wrangler, ["deploy", "--dry-run", "--outdir", outDir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
  }
  return join(outDir, "index.js");
}

/** The D1 migrations in order, split into single statements at drizzle's breakpoints. */
export function migrationStatements(migrationsDir) {
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{4}_.*\.sql$/.test(f))
    .sort();
  const statements = [];
  for (const file of files) {
    const text = readFileSync(join(migrationsDir, file), "utf8");
    for (const chunk of text.split("--> statement-breakpoint")) {
      const withoutComments = chunk.replace(/^\s*--.*$/gm, "").trim();
      if (withoutComments) statements.push(withoutComments);
    }
  }
  return { files, statements };
}

/** Durable Object bindings as in wrangler.toml (all SQLite-backed, see its [[migrations]]). */
const DURABLE_OBJECTS = {
  COORDINATOR: "TenantCoordinator",
  KEYS: "KeyStore",
  RESET_TOKENS: "ResetTokens",
  THROTTLE: "Throttle",
};

/** userplane's own Miniflare worker options (also one worker among several: scripts/bench/rpc.mjs). */
export function userplaneWorkerOptions({ scriptPath, platformKey }) {
  return {
    name: "userplane",
    modules: true,
    scriptPath,
    modulesRoot: join(scriptPath, ".."),
    compatibilityDate: "2026-04-01",
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: { DB: "userplane-bench" },
    durableObjects: Object.fromEntries(
      Object.entries(DURABLE_OBJECTS).map(([binding, className]) => [binding, { className, useSQLite: true }]),
    ),
    bindings: {
      BOOTSTRAP_API_KEY: platformKey,
      ACCESS_TOKEN_TTL_SECONDS: "900",
      REFRESH_TOKEN_TTL_SECONDS: "2592000",
      // The throttle counts failures only; these keep a stray failure from locking the bench out.
      LOGIN_MAX_FAILURES: "1000000",
      LOGIN_IP_MAX_FAILURES: "1000000",
      // PASSWORD_SCRYPT_PARAMS is left unset: sign-in runs at the configured default.
    },
  };
}

/**
 * Starts the worker with a fresh state directory and applies the migrations. `otherWorkers`
 * (Miniflare worker options) run beside it; userplane stays the one unrouted requests reach.
 * @returns {{ mf, url: URL, db, dispose(): Promise<void> }}
 */
export async function startServer({ root, scriptPath, stateDir, platformKey, otherWorkers = [] }) {
  const Miniflare = await loadMiniflare(root);
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0, // a free port, chosen by the OS
    workers: [userplaneWorkerOptions({ scriptPath, platformKey }), ...otherWorkers],
    defaultPersistRoot: stateDir,
    // Request logging sends every request back to this Node process: not part of the worker.
    logRequests: false,
  });
  const url = await mf.ready;
  const db = await mf.getD1Database("DB", "userplane");
  const { statements } = migrationStatements(join(root, "migrations"));
  await db.batch(statements.map((s) => db.prepare(s)));
  return { mf, url, db, dispose: () => mf.dispose() };
}
