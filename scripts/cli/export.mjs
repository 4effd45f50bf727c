// `userplane export --out FILE`: GET /v1/users/export page by page, following each `Link:
// rel="next"` to the end, into one NDJSON file (written beside as FILE.partial and renamed at the
// end, so an interrupted export never looks complete). Results go to stdout, progress to stderr.
import { createWriteStream, renameSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { once } from "node:events";
import { createClient, describeProblem, readProblem } from "./client.mjs";
import { COMMON_HELP, CliError, UsageError, connection, integer, parseVerbArgs } from "./options.mjs";
import { createProgress } from "./progress.mjs";

export const HELP = `Usage: npm run userplane -- export --out FILE [options]

Writes every user of the tenant to FILE, one JSON object per line (GET /v1/users/export,
following its pages to the end). The file is what import --from userplane reads.

Options:
  --out FILE             where to write (- for stdout)
  --include-credentials  add each user's password_hash (needs the owner role or a platform key)
  --limit N              users per page, 1-10000 (default 1000)
  --json                 print the result as one JSON object

${COMMON_HELP}

Exit code: 0 when every page was written, 1 otherwise, 2 for a mistake on the command line.`;

const FLAGS = {
  out: { type: "string", short: "o" },
  "include-credentials": { type: "boolean" },
  limit: { type: "string" },
  json: { type: "boolean" },
};

/** The `rel="next"` target of a Link header, or null. */
export function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (match && /(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(match[2])) return match[1];
  }
  return null;
}

/**
 * @param {string[]} argv
 * @param {{ stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, env: Record<string, string | undefined>, fetch?: typeof fetch }} io
 * @returns {Promise<number>} the exit code
 */
export async function runExport(argv, io) {
  const { values } = parseVerbArgs(argv, FLAGS);
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!values.out) throw new UsageError("--out is required (a file, or - for stdout)");
  const limit = integer(values.limit, "--limit", 1, 10_000, 1000);
  const client = createClient({ ...connection(values, io.env), fetch: io.fetch, onRetry: (m) => io.stderr.write(`${m}\n`) });
  const toStdout = values.out === "-";
  const path = toStdout ? null : resolve(values.out);
  const partial = path ? `${path}.partial` : null;
  const sink = toStdout ? io.stdout : createWriteStream(partial);
  const progress = createProgress({ stream: io.stderr, label: "export" });

  const params = new URLSearchParams({ limit: String(limit) });
  if (values["include-credentials"]) params.set("include_credentials", "true");
  let next = `v1/users/export?${params}`;
  const seen = new Set();
  let users = 0;
  let pages = 0;
  try {
    while (next) {
      const response = await client.request("GET", next, { headers: { accept: "application/x-ndjson" } });
      if (response.status !== 200) throw new CliError(describeProblem(await readProblem(response), `GET /v1/users/export (page ${pages + 1})`));
      const lines = await copyLines(response.body, sink);
      pages++;
      users += lines;
      progress.update({ done: users, failed: 0 });
      const link = nextLink(response.headers.get("link"));
      const target = link && new URL(link, response.url || new URL(next, client.base)).href;
      if (target && (seen.has(target) || lines === 0)) throw new CliError(`GET /v1/users/export: page ${pages} links to a page already read or is empty; stopping`);
      if (target) seen.add(target);
      next = target;
    }
    if (!toStdout) {
      sink.end();
      await once(sink, "finish");
      renameSync(partial, path);
    }
  } catch (error) {
    if (!toStdout) {
      sink.destroy();
      rmSync(partial, { force: true });
    }
    throw error;
  } finally {
    progress.done();
  }
  const result = { users, pages, out: path ?? "-" };
  const out = toStdout ? io.stderr : io.stdout;
  out.write(values.json ? `${JSON.stringify(result)}\n` : `exported ${users} users in ${pages} page${pages === 1 ? "" : "s"} to ${path ?? "stdout"}\n`);
  return 0;
}

/** Copies an NDJSON body to `sink`, ending it with a newline; returns its number of lines. */
async function copyLines(body, sink) {
  let lines = 0;
  let last = "\n";
  if (!body) return 0;
  const decoder = new TextDecoder();
  for await (const bytes of body) {
    const text = decoder.decode(bytes, { stream: true });
    if (!text) continue;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++;
    last = text.at(-1);
    if (!sink.write(text)) await once(sink, "drain");
  }
  const tail = decoder.decode();
  if (tail) {
    last = tail.at(-1);
    sink.write(tail);
  }
  if (last !== "\n") {
    sink.write("\n");
    lines++;
  }
  return lines;
}
