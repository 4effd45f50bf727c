#!/usr/bin/env node
// `npm run userplane -- <import|export> …`: the migration CLI (see scripts/cli/ and the README's
// "Migrating to userplane"). It needs nothing from src/: it talks to a deployment over HTTP.
import { main } from "./cli/main.mjs";

// Ctrl-C once: finish the batch in flight, save the state, exit 130. Twice: stop at once (the
// state file still names the last answered batch, and a resumed retry replays the one in flight).
const signal = { stopping: false };
process.on("SIGINT", () => {
  if (signal.stopping) process.exit(130);
  signal.stopping = true;
  process.stderr.write("\nstopping after the batch in flight (Ctrl-C again to stop now)\n");
});

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal });
