// The CLI's dispatcher: `userplane <verb> [flags]`, one verb per file. Expected failures
// (UsageError, CliError) end with their message and exit code; anything else is reported as an
// internal error in one line, never as a stack trace (USERPLANE_DEBUG=1 shows it).
import { HELP as EXPORT_HELP, runExport } from "./export.mjs";
import { HELP as IMPORT_HELP, runImport } from "./import.mjs";
import { COMMON_HELP, CliError, UsageError } from "./options.mjs";

const VERBS = { import: { run: runImport, help: IMPORT_HELP }, export: { run: runExport, help: EXPORT_HELP } };

export const HELP = `Usage: npm run userplane -- <command> [options]

Commands:
  import   bring users in from another system's export (or userplane's own)
  export   write every user of a tenant to an NDJSON file

Run a command with --help for its options.

${COMMON_HELP}`;

/**
 * @param {string[]} argv the arguments after the script
 * @param {{ stdout, stderr, env, fetch?, signal? }} io
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, io) {
  const [verb, ...rest] = argv;
  if (!verb || verb === "--help" || verb === "-h" || verb === "help") {
    (verb ? io.stdout : io.stderr).write(`${HELP}\n`);
    return verb ? 0 : 2;
  }
  const command = VERBS[verb];
  if (!command) {
    io.stderr.write(`userplane: unknown command ${JSON.stringify(verb)}\n\n${HELP}\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`userplane ${verb}: ${error.message}\nRun with --help for the options.\n`);
      return 2;
    }
    if (error instanceof CliError) {
      io.stderr.write(`userplane ${verb}: ${error.message}\n`);
      return 1;
    }
    io.stderr.write(`userplane ${verb}: internal error: ${error?.message ?? error}\n`);
    if (io.env.USERPLANE_DEBUG) io.stderr.write(`${error?.stack ?? ""}\n`);
    return 1;
  }
}
