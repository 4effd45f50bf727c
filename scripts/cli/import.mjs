// `userplane import --from SOURCE FILE`: converts a source's export to ImportUsers and sends them
// in batches (1,000 by default) to POST /v1/users/import, with progress on stderr, failed items
// in a report file, and a state file for `--resume`. Results go to stdout; the exit code is 0
// only when no item failed.
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { createClient } from "./client.mjs";
import { MAX_BATCH_BYTES, sendBatch } from "./import-batch.mjs";
import { fingerprint, loadState, openReport, saveState } from "./import-files.mjs";
import { COMMON_HELP, CliError, UsageError, connection, integer, oneOf, parseVerbArgs } from "./options.mjs";
import { createProgress } from "./progress.mjs";
import { firebaseHashConfig } from "./sources/firebase.mjs";
import { SOURCES, convertRecords } from "./sources/index.mjs";
import { FileFormatError } from "./sources/read.mjs";

export const HELP = `Usage: npm run userplane -- import --from SOURCE FILE [options]

Imports the users of FILE, another system's export, into a userplane tenant through
POST /v1/users/import, in batches, with their password hashes.

Sources (--from):
  userplane  an export of userplane itself (npm run userplane -- export), NDJSON
  auth0      Auth0's user export or password-hash export (NDJSON), or a bulk-import JSON array
  firebase   firebase auth:export FILE --format=json (pass the project's hash parameters below)
  keycloak   a realm export (kc.sh export --realm R --file FILE), or one of its users files
  supabase   rows of auth.users, as a JSON array or CSV with a header row

Options:
  --on-conflict fail|skip|update  an existing email, username, external id or id: fail the item
                   (default), skip it, or update that user
  --ids keep|new   keep the file's usr_ ids (default), or give every user a new id
  --batch N        users per request, 1-1000 (default 1000)
  --state FILE     where progress is kept (default FILE.import-state.json)
  --resume         carry on from the state file after an interruption
  --report FILE    failed items, one JSON object per line (default FILE.import-failed.ndjson)
  --dry-run        convert and check the file only; send nothing
  --json           print the result as one JSON object
Firebase hash parameters (Authentication → Users → ⋮ → Password hash parameters):
  --hash-key B64 --salt-separator B64 --rounds N --mem-cost N

${COMMON_HELP}

Exit code: 0 when every user was imported (or skipped), 1 when any item failed or the import
stopped, 2 for a mistake on the command line, 130 when interrupted (resume with --resume).`;

const FLAGS = {
  from: { type: "string" },
  "on-conflict": { type: "string" },
  ids: { type: "string" },
  batch: { type: "string" },
  state: { type: "string" },
  resume: { type: "boolean" },
  report: { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  "hash-key": { type: "string" },
  "salt-separator": { type: "string" },
  rounds: { type: "string" },
  "mem-cost": { type: "string" },
};

/** The import's settings from the command line; every mistake is a UsageError. */
function settings(argv, env) {
  const { values, positionals } = parseVerbArgs(argv, FLAGS, { positionals: 1 });
  if (values.help) return { help: true };
  const source = oneOf(values.from, "--from", Object.keys(SOURCES));
  if (!source) throw new UsageError(`--from is required (one of ${Object.keys(SOURCES).join(", ")})`);
  const [file] = positionals;
  if (!file) throw new UsageError("the file to import is missing");
  const hash = firebaseHashConfig({
    hashKey: values["hash-key"],
    saltSeparator: values["salt-separator"],
    rounds: values.rounds,
    memCost: values["mem-cost"],
  });
  if (hash.errors.length) throw new UsageError(hash.errors.join("; "));
  if (hash.config && source !== "firebase") throw new UsageError("--hash-key and the other hash parameters are for --from firebase");
  if (values.resume && values["dry-run"]) throw new UsageError("--resume and --dry-run do not go together");
  const path = resolve(file);
  return {
    source,
    file: path,
    dryRun: Boolean(values["dry-run"]),
    json: Boolean(values.json),
    resume: Boolean(values.resume),
    statePath: resolve(values.state ?? `${path}.import-state.json`),
    reportPath: resolve(values.report ?? `${path}.import-failed.ndjson`),
    batchSize: integer(values.batch, "--batch", 1, 1000, 1000),
    envelope: {
      on_conflict: oneOf(values["on-conflict"], "--on-conflict", ["fail", "skip", "update"], "fail"),
      ids: oneOf(values.ids, "--ids", ["keep", "new"], "keep"),
      ...(hash.config ? { hash_config: hash.config } : {}),
    },
    connection: values["dry-run"] ? null : connection(values, env),
    hashConfig: hash.config,
  };
}

/** A new state, or the earlier run's after checking it is the same import of the same file. */
function startState(run, file) {
  const earlier = loadState(run.statePath);
  const same = { source: run.source, file: run.file, sha256: file.sha256, envelope: run.envelope, batch_size: run.batchSize, url: run.connection.url, tenant: run.connection.tenant ?? null };
  if (!run.resume) {
    if (earlier) {
      throw new CliError(
        `${run.statePath} holds an earlier import (${earlier.records_done} records done${earlier.finished_at ? ", finished" : ""}): ` +
          "pass --resume to carry on, or delete it to start over",
      );
    }
    const fresh = { version: 1, ...same, run_id: randomBytes(8).toString("hex"), batches_done: 0, records_done: 0, report_bytes: 0 };
    return { ...fresh, totals: { created: 0, updated: 0, skipped: 0, failed: 0, ignored: 0 }, started_at: new Date().toISOString(), finished_at: null };
  }
  if (!earlier) throw new CliError(`--resume: there is no state file ${run.statePath}`);
  for (const [name, value] of Object.entries(same)) {
    if (JSON.stringify(earlier[name]) !== JSON.stringify(value)) {
      throw new CliError(`--resume: ${name} differs from the run in ${run.statePath}; resume with the same file and options, or delete it to start over`);
    }
  }
  return earlier;
}

const sourceText = (text) => (text.length > 100_000 ? `${text.slice(0, 100_000)}…` : text);

/** The source file's records, converted; a file that cannot be read is a CliError naming the line. */
async function* records(run, file) {
  const chunks = createReadStream(run.file, { encoding: "utf8" });
  try {
    yield* convertRecords(run.source, chunks, file.first, { hashConfig: run.hashConfig });
  } catch (error) {
    if (error instanceof FileFormatError) throw new CliError(`${run.file}: ${error.message}; nothing was imported from it`);
    throw error;
  } finally {
    chunks.destroy();
  }
}

/**
 * Reads the whole file once before anything is sent, so a file that breaks off halfway imports
 * nothing rather than its first half; also counts the records for the progress bar.
 * With `onItem`, each converted record is passed on (the dry run reports from here).
 */
async function checkFile(run, file, onItem = () => {}) {
  let count = 0;
  for await (const record of records(run, file)) {
    count++;
    onItem(record);
  }
  return count;
}

/**
 * Runs `import` with its arguments.
 * @param {string[]} argv
 * @param {{ stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, env: Record<string, string | undefined>, fetch?: typeof fetch, signal?: { stopping: boolean } }} io
 * @returns {Promise<number>} the exit code
 */
export async function runImport(argv, io) {
  const run = settings(argv, io.env);
  if (run.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const file = await fingerprint(run.file);
  const state = run.dryRun ? null : startState(run, file);
  const totals = state?.totals ?? { created: 0, updated: 0, skipped: 0, failed: 0, ignored: 0, checked: 0 };
  const report = openReport(run.reportPath, { resumeAt: state?.report_bytes ?? 0 });
  const progress = createProgress({ stream: io.stderr, label: "import" });
  const log = (message) => {
    progress.clear();
    io.stderr.write(`${message}\n`);
  };
  // The first items of each kind are named on stderr; the report has every failed one.
  const shown = { failed: 0, ignored: 0 };
  const tell = (kind, message) => {
    if (shown[kind]++ < 20) log(message);
    else if (shown[kind] === 21) log(kind === "failed" ? "… more failed items: see the report" : "… more records left out");
  };
  const fail = (line, errors, text) => {
    totals.failed++;
    report.write({ line, errors, source: sourceText(text) });
    tell("failed", `line ${line}: ${errors.map((e) => `${e.path || "(record)"}: ${e.message}${e.code ? ` (${e.code})` : ""}`).join("; ")}`);
  };
  const leaveOut = (line, reason) => {
    totals.ignored++;
    tell("ignored", `line ${line}: left out: ${reason}`);
  };

  let interrupted = false;
  try {
    if (run.dryRun) {
      await checkFile(run, file, ({ line, text, result }) => {
        if (result.ignored) leaveOut(line, result.ignored);
        else if (result.errors) fail(line, result.errors, text);
        else totals.checked++;
      });
    } else {
      const total = await checkFile(run, file);
      progress.total = total;
      if (state.records_done) log(`resuming after ${state.records_done} of ${total} records (${state.batches_done} batches done)`);
      const client = createClient({ ...run.connection, fetch: io.fetch, onRetry: log });
      interrupted = await sendAll({ run, file, state, client, report, progress, fail, leaveOut, signal: io.signal });
    }
  } finally {
    report.close();
    progress.done();
  }

  const result = { source: run.source, file: run.file, ...totals };
  if (run.dryRun) result.dry_run = true;
  if (report.entries || totals.failed) result.report = run.reportPath;
  if (interrupted) result.interrupted = true;
  io.stdout.write(run.json ? `${JSON.stringify(result)}\n` : `${resultLines(result, run).join("\n")}\n`);
  if (interrupted) return 130;
  return totals.failed ? 1 : 0;
}

/**
 * The import pass: batches of users to the server, the state saved after each answered batch.
 * @returns {Promise<boolean>} whether it stopped early on request (Ctrl-C)
 */
async function sendAll({ run, file, state, client, report, progress, fail, leaveOut, signal }) {
  const { totals } = state;
  let batch = [];
  let batchBytes = 0;
  let count = 0;
  const show = (force = false) => progress.update({ done: count, failed: totals.failed }, { force });
  // Saved before the first batch too: a run killed during it resumes with the same run id, so
  // that batch is replayed under its Idempotency-Key instead of being sent as new.
  saveState(run.statePath, state);
  progress.base = state.records_done;
  const flush = async (recordsDone) => {
    if (batch.length === 0) return;
    const key = `userplane-import-${file.sha256.slice(0, 16)}-${state.run_id}-${state.batches_done + 1}`;
    let outcomes;
    try {
      outcomes = await sendBatch(client, batch, run.envelope, key);
    } catch (error) {
      const done = totals.created + totals.updated + totals.skipped;
      if (error instanceof CliError) {
        throw new CliError(`${error.message}\n${done} users imported before this batch; the state is in ${run.statePath}: fix the cause and rerun with --resume`);
      }
      throw error;
    }
    outcomes.forEach((outcome, i) => {
      if (outcome.status === "failed") fail(batch[i].line, outcome.errors ?? [], batch[i].text);
      else if (outcome.status in totals) totals[outcome.status]++;
    });
    Object.assign(state, { batches_done: state.batches_done + 1, records_done: recordsDone, report_bytes: report.bytes });
    saveState(run.statePath, state);
    batch = [];
    batchBytes = 0;
    show();
  };

  for await (const { line, text, result } of records(run, file)) {
    count++;
    if (count <= state.records_done) continue;
    if (result.ignored) leaveOut(line, result.ignored);
    else if (result.errors) fail(line, result.errors, text);
    else {
      const bytes = Buffer.byteLength(JSON.stringify(result.user)) + 1;
      if (batch.length && batchBytes + bytes > MAX_BATCH_BYTES) await flush(count - 1);
      batch.push({ line, text, user: result.user });
      batchBytes += bytes;
      if (batch.length >= run.batchSize) await flush(count);
    }
    if (signal?.stopping && batch.length === 0) return true;
  }
  await flush(count);
  state.finished_at = new Date().toISOString();
  saveState(run.statePath, state);
  show(true);
  return false;
}

/** The human-readable result. */
function resultLines(result, run) {
  const lines = run.dryRun
    ? [`${result.checked} users would be sent, ${result.failed} failed the checks, ${result.ignored} left out (dry run: nothing sent)`]
    : [`created ${result.created}, updated ${result.updated}, skipped ${result.skipped}, failed ${result.failed}, left out ${result.ignored}`];
  if (result.report) lines.push(`failed items: ${result.report}`);
  if (result.interrupted) lines.push(`interrupted: carry on with the same command and --resume (state in ${run.statePath})`);
  return lines;
}
