// Reading fixture files the way the CLI does, for the converter tests.
import { createReadStream, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { convertRecords } from "../../scripts/cli/sources/index.mjs";

export const fixture = (path) => fileURLToPath(new URL(`../fixtures/migrate/${path}`, import.meta.url));

/** Every `{ line, text, result }` the converter gives for a fixture file. */
export async function convertFixture(source, path, options = {}) {
  const file = fixture(path);
  const first = readFileSync(file, "utf8").trimStart()[0] ?? "";
  const out = [];
  for await (const record of convertRecords(source, createReadStream(file, { encoding: "utf8", highWaterMark: 64 }), first, options)) {
    out.push(record);
  }
  return out;
}

/** Text as an async iterable of chunks of `size` characters (to cross chunk boundaries everywhere). */
export async function* chunked(text, size = 1) {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

export async function collect(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}
