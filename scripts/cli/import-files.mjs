// The files an import keeps beside its work: the state file that lets `--resume` carry on after
// the last batch the server answered, and the report of failed items (NDJSON, one failed item per
// line: its line in the source file, its errors and the source record as it was).
import { createHash } from "node:crypto";
import { createReadStream, closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { CliError } from "./options.mjs";

/** The file's SHA-256, size and first non-blank character (which picks the reader). */
export async function fingerprint(path) {
  const hash = createHash("sha256");
  let size = 0;
  let first = "";
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk);
      size += chunk.length;
      if (!first) first = chunk.toString("utf8").replace(/^\uFEFF/, "").trimStart()[0] ?? "";
    }
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
  }
  if (!first) throw new CliError(`${path} is empty`);
  return { sha256: hash.digest("hex"), size, first };
}

/** The state of an earlier run, or null when there is none. */
export function loadState(path) {
  if (!existsSync(path)) return null;
  try {
    const state = JSON.parse(readFileSync(path, "utf8"));
    if (state?.version !== 1) throw new Error("unknown version");
    return state;
  } catch (error) {
    throw new CliError(`the state file ${path} cannot be read (${error.message}); delete it to start over`);
  }
}

/** Writes the state atomically, so an interruption leaves the old state or the new one. */
export function saveState(path, state) {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}

/**
 * The failed-items report, opened lazily at its first entry. On a resume it is cut back to the
 * size it had when the state was saved, so items after the last answered batch are not reported
 * twice.
 */
export function openReport(path, { resumeAt = 0 } = {}) {
  let fd = null;
  let bytes = resumeAt;
  let entries = 0;
  const open = () => {
    if (fd !== null) return;
    fd = openSync(path, resumeAt > 0 ? "r+" : "w");
    ftruncateSync(fd, resumeAt);
  };
  if (resumeAt > 0) open();
  return {
    path,
    /** @param {{ line: number, errors: object[], source: string }} entry */
    write(entry) {
      open();
      const text = `${JSON.stringify(entry)}\n`;
      writeSync(fd, text, bytes);
      bytes += Buffer.byteLength(text);
      entries++;
    },
    get bytes() {
      return bytes;
    },
    get entries() {
      return entries;
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
