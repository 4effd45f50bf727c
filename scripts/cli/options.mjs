// Command-line parsing for every verb: node:util parseArgs (built into Node 20, strict about
// unknown flags) plus the flags all verbs share, and the two kinds of expected failure that end
// the CLI with a message instead of a stack trace.
import { parseArgs } from "node:util";

/** A mistake on the command line: the message and the verb's usage, exit code 2. */
export class UsageError extends Error {
  name = "UsageError";
}

/** Something that stops the work (unreadable file, refused credentials …): the message, exit 1. */
export class CliError extends Error {
  name = "CliError";
}

/** Flags every verb takes; values fall back to the environment. */
export const COMMON_FLAGS = {
  url: { type: "string" },
  key: { type: "string" },
  tenant: { type: "string" },
  help: { type: "boolean", short: "h" },
};

export const COMMON_HELP = `Connection (every verb):
  --url URL        the userplane deployment (env USERPLANE_URL; default http://localhost:8787)
  --key KEY        an API key or access token (env USERPLANE_KEY)
  --tenant TENANT  tenant id or slug, sent as X-Tenant when the key is a platform key
                   (env USERPLANE_TENANT)
  -h, --help       this help`;

/**
 * Parses a verb's arguments. Unknown flags, missing values and stray positionals are a
 * UsageError naming them.
 * @param {string[]} argv
 * @param {Record<string, { type: "string" | "boolean", short?: string }>} flags the verb's own flags
 */
export function parseVerbArgs(argv, flags, { positionals: allowed = 0 } = {}) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_FLAGS, ...flags }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error.message.replace(/\. To specify a positional argument.*$/s, "."));
  }
  if (!parsed.values.help && parsed.positionals.length > allowed) {
    throw new UsageError(`unexpected argument${parsed.positionals.length - allowed > 1 ? "s" : ""}: ${parsed.positionals.slice(allowed).join(" ")}`);
  }
  return parsed;
}

/** `--url`, `--key`, `--tenant` with their environment fallbacks; a missing key is a UsageError. */
export function connection(values, env) {
  const url = values.url ?? env.USERPLANE_URL ?? "http://localhost:8787";
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
  } catch {
    throw new UsageError(`--url must be an http(s) URL, not ${JSON.stringify(url)}`);
  }
  const key = values.key ?? env.USERPLANE_KEY;
  if (!key) throw new UsageError("no credentials: pass --key or set USERPLANE_KEY");
  return { url, key, tenant: values.tenant ?? env.USERPLANE_TENANT };
}

/** One of `choices`, or a UsageError naming the flag. */
export function oneOf(value, flag, choices, fallback) {
  if (value === undefined) return fallback;
  if (!choices.includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(", ")}, not ${JSON.stringify(value)}`);
  return value;
}

/** An integer in [min, max], or a UsageError naming the flag. */
export function integer(value, flag, min, max, fallback) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  return n;
}
