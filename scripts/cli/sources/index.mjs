// The sources `import --from` knows: how each file is read and how each record becomes an
// ImportUser. A converter returns `{ user }`, `{ errors: [{ path, message, code }] }` or
// `{ ignored: reason }` (a record that is not a user to bring over).
import { convertAuth0 } from "./auth0.mjs";
import { convertFirebase } from "./firebase.mjs";
import { convertKeycloak } from "./keycloak.mjs";
import { readCsv, readJsonArray, readNdjson } from "./read.mjs";
import { convertSupabase } from "./supabase.mjs";
import { convertUserplane } from "./userplane.mjs";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** The first non-blank character of the file decides between JSON and NDJSON or CSV. */
const byFirstCharacter = (choices) => (first) => choices[first] ?? choices.other;

/** @type {Record<string, { convert: Function, reader: (first: string) => (chunks: AsyncIterable<string>) => AsyncIterable<object> }>} */
export const SOURCES = {
  userplane: { convert: convertUserplane, reader: () => readNdjson },
  auth0: {
    convert: convertAuth0,
    // NDJSON from the export job or the hash export; a JSON array in the bulk-import schema.
    reader: byFirstCharacter({ "[": (chunks) => readJsonArray(chunks), other: readNdjson }),
  },
  firebase: { convert: convertFirebase, reader: () => (chunks) => readJsonArray(chunks, { key: "users" }) },
  keycloak: { convert: convertKeycloak, reader: () => (chunks) => readJsonArray(chunks, { key: "users" }) },
  supabase: {
    convert: convertSupabase,
    reader: byFirstCharacter({ "[": (chunks) => readJsonArray(chunks), other: readCsv }),
  },
};

/**
 * Records of a source file as `{ line, text, result }`, where result is the converter's answer
 * (or the item error when the record itself could not be read).
 * @param {string} source a key of SOURCES
 * @param {AsyncIterable<string>} chunks the file's text
 * @param {string} first the file's first non-blank character
 */
export async function* convertRecords(source, chunks, first, options = {}) {
  const { convert, reader } = SOURCES[source];
  for await (const record of reader(first)(chunks)) {
    const result = record.error
      ? { errors: [{ path: "", message: record.error, code: "unreadable_record" }] }
      : !isObject(record.value)
        ? { errors: [{ path: "", message: "must be a JSON object (one user)", code: "unreadable_record" }] }
        : convert(record.value, options);
    yield { line: record.line, text: record.text, result };
  }
}
