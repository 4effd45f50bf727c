// `npm run dev` started for a script (the smoke tests, the import bench), exactly as the README
// says: on a free 127.0.0.1 port, with its own persist directory and a random platform key. It
// runs in its own process group so it can be stopped by the one process id spawned here.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const STARTUP_TIMEOUT_MS = 120_000;
export const STOP_TIMEOUT_MS = 20_000;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Whether any process of the group led by `pgid` is still alive. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `npm run dev -- --port <free> --ip 127.0.0.1 --persist-to <tmp> --var BOOTSTRAP_API_KEY:<random>`.
 * @param {{ name: string, vars?: Record<string, string>, inspectorPort?: number }} options name: for the
 *   temp directory and key; inspectorPort: wrangler's (its default, 9229, may be taken by another
 *   wrangler on the machine: browser tests pass a free one)
 * @returns {Promise<{ base: string, port: number, pid: number, platformKey: string, output: string[],
 *   waitForHealth(): Promise<void>, stop(): Promise<{ forced: boolean, stillListening: boolean }> }>}
 */
export async function startDevServer({ name, vars = {}, inspectorPort }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const persistDir = mkdtempSync(join(tmpdir(), `userplane-${name}-`));
  const platformKey = `up_${name}_${randomBytes(24).toString("base64url")}`;
  const varArgs = Object.entries({ BOOTSTRAP_API_KEY: platformKey, ...vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const devArgs = ["--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistDir, ...varArgs];
  if (inspectorPort !== undefined) devArgs.push("--inspector-port", String(inspectorPort));
  const output = [];

  console.log(`Starting: npm run dev -- ${devArgs.join(" ").replace(platformKey, "<random key>")}`);
  // Its own process group (detached) so that, should the polite stop fail, the whole tree it
  // started can still be reached through this one process id.
  const server = spawn("npm", ["run", "dev", "--", ...devArgs], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of [server.stdout, server.stderr]) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => output.push(...chunk.replaceAll(platformKey, "<key>").split("\n")));
  }
  let serverExited = false;
  server.on("exit", () => {
    serverExited = true;
  });

  async function waitForHealth() {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (serverExited) throw new Error("npm run dev exited before the server answered");
      try {
        const response = await fetch(`${base}/healthz`);
        if (response.status === 200) return;
      } catch {
        // not up yet
      }
      await sleep(500);
    }
    throw new Error(`no 200 from /healthz within ${STARTUP_TIMEOUT_MS / 1000} s`);
  }

  /** SIGTERM to the npm process spawned here (scripts/dev.mjs then stops wrangler and workerd). */
  async function stop() {
    const pid = server.pid;
    if (!serverExited) process.kill(pid, "SIGTERM");
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (Date.now() < deadline && (groupAlive(pid) || (await listening(port)))) await sleep(250);
    let forced = false;
    if (groupAlive(pid)) {
      // Still running after the polite stop: end what was started here, by its group id.
      forced = true;
      process.kill(-pid, "SIGKILL");
      await sleep(500);
    }
    const stillListening = await listening(port);
    rmSync(persistDir, { recursive: true, force: true });
    return { forced, stillListening };
  }

  // Interrupted (Ctrl-C, CI cancel): the server sits in its own process group and would not get
  // the signal, so stop it before leaving.
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      console.log(`\n${signal}: stopping the server`);
      await stop();
      process.exit(130);
    });
  }

  return { base, port, pid: server.pid, platformKey, output, waitForHealth, stop };
}
