import { describe, expect, it } from "vitest";
import { FileFormatError, readCsv, readJsonArray, readNdjson } from "../../scripts/cli/sources/read.mjs";
import { chunked, collect } from "./files.mjs";

describe("readNdjson", () => {
  it("yields one record per non-blank line with its line number, whatever the chunking", async () => {
    const text = '\uFEFF{"a":1}\r\n\n{"b":"x\\ny"}\n{"c":3}';
    for (const size of [1, 3, 1000]) {
      const records = await collect(readNdjson(chunked(text, size)));
      expect(records.map(({ line, value }) => [line, value])).toEqual([[1, { a: 1 }], [3, { b: "x\ny" }], [4, { c: 3 }]]);
    }
  });

  it("reports a line that is not JSON as an item error and goes on", async () => {
    const records = await collect(readNdjson(chunked('{"a":1}\n{"b":\n{"c":3}\n', 5)));
    expect(records[1]).toMatchObject({ line: 2, text: '{"b":' });
    expect(records[1].error).toMatch(/^not valid JSON/);
    expect(records[2]).toMatchObject({ line: 3, value: { c: 3 } });
  });
});

describe("readJsonArray", () => {
  const doc = '{\n "realm": "x", "nested": {"users": [1]},\n "list": ["users"],\n "users": [\n  {"id": "a", "s": "}]\\"{["},\n  {"id": "b", "n": [1, {"k": []}]}\n ],\n "after": true\n}';

  it("finds the array under the key in the top-level object only, and yields each element with its line", async () => {
    for (const size of [1, 7, 10_000]) {
      const records = await collect(readJsonArray(chunked(doc, size), { key: "users" }));
      expect(records.map(({ line, value }) => [line, value])).toEqual([
        [5, { id: "a", s: '}]"{[' }],
        [6, { id: "b", n: [1, { k: [] }] }],
      ]);
    }
  });

  it("reads a top-level array, elements of any type", async () => {
    const records = await collect(readJsonArray(chunked('[\n{"a":1},\n"s", 12 ,null]', 2)));
    expect(records.map((r) => r.value)).toEqual([{ a: 1 }, "s", 12, null]);
    expect(records.map((r) => r.line)).toEqual([2, 3, 3, 3]);
  });

  it("refuses a file without the array, naming the line", async () => {
    await expect(collect(readJsonArray(chunked('{\n "realm": "x"\n}'), { key: "users" }))).rejects.toThrow(
      new FileFormatError(3, 'no "users" array in the file'),
    );
    await expect(collect(readJsonArray(chunked('\n\n{"users": []}')))).rejects.toThrow("line 3: expected a JSON array");
    await expect(collect(readJsonArray(chunked("[1, 2"), {}))).rejects.toThrow("the file ends inside the array");
  });
});

describe("readCsv", () => {
  it("maps rows to the header, with quoted commas, quotes and line breaks", async () => {
    const text = 'id,meta,note\r\n1,"{""a"": 1}","x, y"\n2,,"two\nlines"\n\n';
    for (const size of [1, 4, 1000]) {
      const records = await collect(readCsv(chunked(text, size)));
      expect(records.map(({ line, value }) => [line, value])).toEqual([
        [2, { id: "1", meta: '{"a": 1}', note: "x, y" }],
        [3, { id: "2", meta: "", note: "two\nlines" }],
      ]);
    }
  });

  it("reports a row with the wrong number of fields and a quote never closed", async () => {
    const records = await collect(readCsv(chunked("a,b\n1\n1,2\n")));
    expect(records[0]).toMatchObject({ line: 2, error: "has 1 fields, the header has 2" });
    expect(records[1]).toMatchObject({ line: 3, value: { a: "1", b: "2" } });
    await expect(collect(readCsv(chunked('a,b\n1,"open\n')))).rejects.toThrow('line 2: a quoted field is never closed');
  });
});
