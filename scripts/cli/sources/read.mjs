// Streaming readers for the export formats the converters take: NDJSON, a JSON array (at the top
// or under one key of a top-level object) and CSV with a header row. Each reads an async iterable
// of text chunks and yields one record at a time with the line it starts on, so a file of 100k
// users is never held in memory whole and every message can name its line.

/** A problem with the file as a whole (not one item): reading stops. */
export class FileFormatError extends Error {
  /** @param {number} line @param {string} message */
  constructor(line, message) {
    super(`line ${line}: ${message}`);
    this.name = "FileFormatError";
    this.line = line;
  }
}

const BOM = "\uFEFF";

/** Drops a leading byte-order mark from the first chunk. */
async function* withoutBom(chunks) {
  let first = true;
  for await (const chunk of chunks) {
    yield first && chunk.startsWith(BOM) ? chunk.slice(1) : chunk;
    first = false;
  }
}

/**
 * One record per non-blank line: `{ line, text, value }`, or `{ line, text, error }` when the line
 * is not JSON (an item error: the other lines still count).
 */
export async function* readNdjson(chunks) {
  let rest = "";
  let line = 0;
  const parse = (text) => {
    line++;
    const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (!trimmed.trim()) return null;
    return parseJsonRecord(line, trimmed);
  };
  for await (const chunk of withoutBom(chunks)) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const text of lines) {
      const record = parse(text);
      if (record) yield record;
    }
  }
  const record = parse(rest);
  if (record) yield record;
}

/** `{ line, text, value }` or, for text that is not JSON, `{ line, text, error }`. */
export function parseJsonRecord(line, text) {
  try {
    return { line, text, value: JSON.parse(text) };
  } catch (error) {
    return { line, text, error: `not valid JSON (${error.message})` };
  }
}

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);

/**
 * The elements of a JSON array, one at a time: the top-level array, or with `key` the array under
 * that key of the top-level object (`{ "users": [...] }` of Firebase and Keycloak exports).
 * Scans characters without building the document, tracking strings and nesting only.
 */
export async function* readJsonArray(chunks, { key } = {}) {
  let line = 1;
  let mode = key ? "seek" : "top"; // seek → items → done; top → items → done
  let depth = 0; // nesting outside the array (seek mode)
  let inString = false;
  let escaped = false;
  let expectingKey = false;
  let keyText = "";
  let lastKey = null;
  // The element being read.
  let inItem = false;
  let itemDepth = 0;
  let itemLine = 0;
  let itemParts = [];

  const where = key ? `a top-level object with a "${key}" array` : "a JSON array";
  for await (const chunk of withoutBom(chunks)) {
    let itemStart = 0;
    for (let i = 0; i < chunk.length && mode !== "done"; i++) {
      const c = chunk[i];
      if (c === "\n") line++;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') {
          inString = false;
          if (mode === "seek" && expectingKey) lastKey = keyText;
        } else if (mode === "seek" && expectingKey) keyText += c;
        if (!inString && inItem && itemDepth === 0) {
          itemParts.push(chunk.slice(itemStart, i + 1));
          yield parseJsonRecord(itemLine, itemParts.join(""));
          inItem = false;
        }
        continue;
      }
      if (mode === "items") {
        if (inItem) {
          if (c === '"') inString = true;
          else if (c === "{" || c === "[") itemDepth++;
          else if (c === "}" || c === "]" || (itemDepth === 0 && (c === "," || WHITESPACE.has(c)))) {
            const closesItem = itemDepth > 0 && (c === "}" || c === "]");
            if (closesItem) itemDepth--;
            if (itemDepth === 0) {
              const end = closesItem ? i + 1 : i;
              itemParts.push(chunk.slice(itemStart, end));
              yield parseJsonRecord(itemLine, itemParts.join(""));
              inItem = false;
              if (!closesItem && c === "]") mode = "done";
            }
          }
        } else if (c === "]") mode = "done";
        else if (c !== "," && !WHITESPACE.has(c)) {
          inItem = true;
          itemLine = line;
          itemParts = [];
          itemStart = i;
          itemDepth = c === "{" || c === "[" ? 1 : 0;
          if (c === '"') inString = true;
        }
        continue;
      }
      if (WHITESPACE.has(c)) continue;
      if (mode === "top") {
        if (c !== "[") throw new FileFormatError(line, `expected ${where}`);
        mode = "items";
        continue;
      }
      // seek: find `"key": [` directly inside the top-level object.
      if (depth === 0 && c !== "{") throw new FileFormatError(line, `expected ${where}`);
      if (c === '"') {
        inString = true;
        keyText = "";
      } else if (c === ":" && depth === 1) expectingKey = false;
      else if (c === "," && depth === 1) {
        expectingKey = true;
        lastKey = null;
      } else if (c === "[" && depth === 1 && lastKey === key) mode = "items";
      else if (c === "{" || c === "[") {
        depth++;
        if (depth === 1) expectingKey = true;
      } else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) throw new FileFormatError(line, `no "${key}" array in the file`);
      }
    }
    if (inItem) itemParts.push(chunk.slice(itemStart));
  }
  if (mode !== "done") {
    throw new FileFormatError(line, mode === "items" ? "the file ends inside the array (truncated?)" : `expected ${where}`);
  }
}

/**
 * CSV (RFC 4180: quoted fields may hold commas, quotes as "" and line breaks) with a header row:
 * `{ line, text, value }` where value maps each header to its field.
 */
export async function* readCsv(chunks) {
  let header = null;
  let fields = [];
  let field = "";
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let rowLine = 1;
  let rowText = "";
  let rowHasContent = false;

  function* endRow() {
    fields.push(field);
    const row = fields;
    const text = rowText;
    const startLine = rowLine;
    fields = [];
    field = "";
    rowText = "";
    const content = rowHasContent;
    rowHasContent = false;
    rowLine = line;
    if (!content) return;
    if (!header) {
      header = row.map((name) => name.trim());
      return;
    }
    if (row.length !== header.length) {
      yield { line: startLine, text, error: `has ${row.length} fields, the header has ${header.length}` };
      return;
    }
    yield { line: startLine, text, value: Object.fromEntries(header.map((name, i) => [name, row[i]])) };
  }

  for await (const chunk of withoutBom(chunks)) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (quoted) {
        if (c === '"') {
          quoted = false;
          afterQuote = true;
        } else field += c;
        if (c === "\n") line++;
        rowText += c;
        continue;
      }
      if (c === '"') {
        if (afterQuote) field += '"'; // "" inside a quoted field
        quoted = true;
        afterQuote = false;
        rowHasContent = true;
        rowText += c;
        continue;
      }
      afterQuote = false;
      if (c === ",") {
        fields.push(field);
        field = "";
        rowHasContent = true;
        rowText += c;
      } else if (c === "\n") {
        line++;
        if (field.endsWith("\r")) field = field.slice(0, -1);
        yield* endRow();
      } else {
        if (c !== "\r") rowHasContent = true;
        field += c;
        if (c !== "\r") rowText += c;
      }
    }
  }
  if (quoted) throw new FileFormatError(rowLine, "a quoted field is never closed");
  yield* endRow();
  if (!header) throw new FileFormatError(1, "expected a header row");
}
