// The import's own bookkeeping (batches, Idempotency-Keys, state, report, resume, exit codes),
// with `fetch` answering as the contract's POST /v1/users/import does. The server side itself is
// exercised end to end by scripts/smoke-migrate.mjs against npm run dev.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sendBatch } from "../../scripts/cli/import-batch.mjs";
import { main } from "../../scripts/cli/main.mjs";

/** A fetch answering per item: emails starting with "taken" fail with conflict. */
function importFetch(log) {
  return async (url, init) => {
    const body = JSON.parse(init.body);
    log.push({ path: new URL(url).pathname, key: init.headers["idempotency-key"], emails: body.users.map((u) => u.email), envelope: { ...body, users: undefined } });
    const results = body.users.map((user, index) =>
      user.email.startsWith("taken")
        ? { index, status: "failed", errors: [{ path: "email", message: "is taken", code: "conflict" }] }
        : { index, status: "created", id: `usr_${index}` },
    );
    return Response.json({ results });
  };
}

async function cli(args, io) {
  const out = { stdout: "", stderr: "" };
  const stream = (name) => ({ write: (text) => ((out[name] += text), true) });
  const code = await main(args, { stdout: stream("stdout"), stderr: stream("stderr"), env: { USERPLANE_KEY: "up_k" }, ...io });
  return { code, ...out };
}

function auth0File(emails) {
  const dir = mkdtempSync(join(tmpdir(), "userplane-cli-run-"));
  const file = join(dir, "users.ndjson");
  writeFileSync(file, emails.map((email, i) => JSON.stringify({ user_id: `auth0|${i}`, email })).join("\n"));
  return { dir, file };
}

describe("import batches, state and resume", () => {
  it("sends batches with per-batch keys, reports failed items by line, exits 1", async () => {
    const { dir, file } = auth0File(["a@x.example", "taken@x.example", "b@x.example", "c@x.example", "d@x.example"]);
    const log = [];
    const { code, stdout } = await cli(["import", "--from", "auth0", file, "--batch", "2", "--on-conflict", "skip", "--ids", "new", "--json"], { fetch: importFetch(log) });
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ created: 4, failed: 1, report: `${file}.import-failed.ndjson` });
    expect(log.map((r) => r.emails.length)).toEqual([2, 2, 1]);
    expect(log[0].envelope).toEqual({ on_conflict: "skip", ids: "new" });
    expect(log[0].path).toBe("/v1/users/import");
    const keys = log.map((r) => r.key);
    expect(new Set(keys).size).toBe(3);
    expect(keys[0]).toMatch(/^userplane-import-[0-9a-f]{16}-[0-9a-f]{16}-1$/);
    const report = readFileSync(`${file}.import-failed.ndjson`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(report).toEqual([{ line: 2, errors: [{ path: "email", message: "is taken", code: "conflict" }], source: '{"user_id":"auth0|1","email":"taken@x.example"}' }]);
    const state = JSON.parse(readFileSync(`${file}.import-state.json`, "utf8"));
    expect(state).toMatchObject({ batches_done: 3, records_done: 5, totals: { created: 4, failed: 1 } });
    expect(state.finished_at).toEqual(expect.any(String));
    expect(dir).toBeTruthy();
  });

  it("stops after the batch in flight on Ctrl-C and resumes with the same run's keys, never resending a batch", async () => {
    const emails = Array.from({ length: 7 }, (_, i) => (i === 4 ? "taken@x.example" : `u${i}@x.example`));
    const { file } = auth0File(emails);
    const log = [];
    const signal = { stopping: false };
    const fetch = importFetch(log);
    const first = await cli(["import", "--from", "auth0", file, "--batch", "3"], {
      signal,
      fetch: async (url, init) => {
        signal.stopping = true; // Ctrl-C while the first batch is in flight
        return fetch(url, init);
      },
    });
    expect(first.code).toBe(130);
    expect(first.stdout).toContain("interrupted: carry on with the same command and --resume");
    expect(log).toHaveLength(1);

    const again = await cli(["import", "--from", "auth0", file, "--batch", "3"], { fetch });
    expect(again).toMatchObject({ code: 1 });
    expect(again.stderr).toContain("holds an earlier import (3 records done): pass --resume to carry on");
    const differs = await cli(["import", "--from", "auth0", file, "--batch", "2", "--resume"], { fetch });
    expect(differs.stderr).toContain("--resume: batch_size differs from the run");

    const resumed = await cli(["import", "--from", "auth0", file, "--batch", "3", "--resume", "--json"], { fetch });
    expect(resumed.code).toBe(1);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ created: 6, failed: 1 });
    expect(log.map((r) => r.emails)).toEqual([["u0@x.example", "u1@x.example", "u2@x.example"], ["u3@x.example", "taken@x.example", "u5@x.example"], ["u6@x.example"]]);
    const keys = log.map((r) => r.key);
    expect(keys.map((k) => k.replace(/-\d+$/, ""))).toEqual(Array(3).fill(keys[0].replace(/-\d+$/, "")));
    expect(keys.map((k) => k.split("-").at(-1))).toEqual(["1", "2", "3"]);
    expect(readFileSync(`${file}.import-failed.ndjson`, "utf8").trim().split("\n")).toHaveLength(1);
  });
});

describe("a file that breaks off", () => {
  it("imports nothing, not even the batches before the break, and names the line", async () => {
    const { dir } = auth0File([]);
    const file = join(dir, "users.json");
    writeFileSync(file, '[\n{"user_id":"auth0|1","email":"a@x.example"},\n{"user_id":"auth0|2","email":"b@x.example"},\n{"user_id":"auth0|3",');
    const log = [];
    const { code, stderr } = await cli(["import", "--from", "auth0", file, "--batch", "1"], { fetch: importFetch(log) });
    expect(code).toBe(1);
    expect(stderr).toContain("users.json: line 4: the file ends inside the array (truncated?); nothing was imported from it");
    expect(log).toEqual([]);
  });
});

describe("sendBatch", () => {
  const items = [0, 1, 2].map((i) => ({ line: i + 1, text: "{}", user: { email: `u${i}@x.example` } }));

  it("fails the items a 422 names (users.N.field) and sends the others again under a derived key", async () => {
    const calls = [];
    const client = {
      request: async (method, path, { body, headers }) => {
        calls.push([headers["idempotency-key"], JSON.parse(body).users.length]);
        if (calls.length === 1) {
          return Response.json({ code: "validation_failed", errors: [{ path: "users.1.email", message: "Invalid email", code: "invalid_format" }] }, { status: 422 });
        }
        return Response.json({ results: [{ index: 0, status: "created", id: "usr_a" }, { index: 1, status: "skipped", id: "usr_c" }] });
      },
    };
    const outcomes = await sendBatch(client, items, { on_conflict: "fail", ids: "keep" }, "k");
    expect(calls).toEqual([["k", 3], ["k-r1", 2]]);
    expect(outcomes).toEqual([
      { status: "created", id: "usr_a", errors: undefined },
      { status: "failed", errors: [{ path: "email", message: "Invalid email", code: "invalid_format" }] },
      { status: "skipped", id: "usr_c", errors: undefined },
    ]);
  });

  it("stops with the problem when the refusal names no item, or the answer has the wrong number of results", async () => {
    const refuse = { request: async () => Response.json({ status: 422, code: "validation_failed", errors: [{ path: "on_conflict", message: "Invalid option" }] }, { status: 422 }) };
    await expect(sendBatch(refuse, items, {}, "k")).rejects.toThrow("POST /v1/users/import (batch of lines 1–3): 422 validation_failed [on_conflict: Invalid option]");
    const short = { request: async () => Response.json({ results: [] }) };
    await expect(sendBatch(short, items, {}, "k")).rejects.toThrow("answered 200 without one result per user (3 sent)");
    const gone = { request: async () => Response.json({ status: 401, code: "unauthorized", detail: "Bad key" }, { status: 401 }) };
    await expect(sendBatch(gone, items, {}, "k")).rejects.toThrow("401 unauthorized Bad key (check --key / USERPLANE_KEY)");
  });
});
