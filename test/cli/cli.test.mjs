import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createClient, retryAfterSeconds } from "../../scripts/cli/client.mjs";
import { nextLink } from "../../scripts/cli/export.mjs";
import { main } from "../../scripts/cli/main.mjs";
import { fixture } from "./files.mjs";

/** Runs the CLI in-process: `{ code, stdout, stderr }`. */
async function cli(args, env = {}) {
  const out = { stdout: "", stderr: "" };
  const stream = (name) => ({ write: (text) => ((out[name] += text), true) });
  const code = await main(args, { stdout: stream("stdout"), stderr: stream("stderr"), env });
  return { code, ...out };
}

const tmp = () => mkdtempSync(join(tmpdir(), "userplane-cli-test-"));

describe("userplane (command line)", () => {
  it("has --help on every verb, on stdout with exit 0", async () => {
    for (const args of [["--help"], ["import", "--help"], ["export", "-h"]]) {
      const { code, stdout } = await cli(args);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: npm run userplane -- /);
    }
    expect((await cli(["import", "--help"])).stdout).toContain("--on-conflict fail|skip|update");
  });

  it("answers a mistake on the command line with the reason and exit 2", async () => {
    const cases = [
      [["frobnicate"], 'unknown command "frobnicate"'],
      [["import", "x.ndjson"], "--from is required"],
      [["import", "--from", "okta", "x"], "--from must be one of userplane, auth0, firebase, keycloak, supabase"],
      [["import", "--from", "auth0"], "the file to import is missing"],
      [["import", "--from", "auth0", "--bogus", "x"], "Unknown option '--bogus'"],
      [["import", "--from", "auth0", "--batch", "5000", "x"], "--batch must be an integer from 1 to 1000"],
      [["import", "--from", "auth0", "--on-conflict", "merge", "x"], "--on-conflict must be one of fail, skip, update"],
      [["import", "--from", "auth0", "--hash-key", "aGk=", "--rounds", "8", "--mem-cost", "14", "x"], "are for --from firebase"],
      [["import", "--from", "firebase", "--hash-key", "aGk=", "x"], "--rounds must be an integer"],
      [["import", "--from", "auth0", "x"], "no credentials: pass --key or set USERPLANE_KEY"],
      [["export"], "--out is required"],
      [["export", "--out", "f", "--key", "k", "--url", "ftp://x"], "--url must be an http(s) URL"],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await cli(args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stderr).toContain(message);
    }
  });

  it("names an unreadable file and a file that breaks off, without a stack trace, exit 1", async () => {
    const missing = await cli(["import", "--from", "auth0", "--dry-run", "/nonexistent/users.ndjson"]);
    expect(missing).toMatchObject({ code: 1, stderr: "userplane import: cannot read /nonexistent/users.ndjson: no such file\n" });
    const dir = tmp();
    const truncated = await cli(["import", "--from", "firebase", "--dry-run", "--report", join(dir, "r"), fixture("firebase/truncated.json")]);
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toContain("truncated.json: line 6: the file ends inside the array (truncated?); nothing was imported from it");
    expect(truncated.stderr).not.toMatch(/\n\s+at /);
    const notJson = join(dir, "realm.json");
    writeFileSync(notJson, "users:\n  - alan\n");
    expect((await cli(["import", "--from", "keycloak", "--dry-run", notJson])).stderr).toContain(
      'line 1: expected a top-level object with a "users" array',
    );
  });

  it("--dry-run checks every item, names each bad one by line and field, and reports them", async () => {
    const dir = tmp();
    const report = join(dir, "failed.ndjson");
    const { code, stdout, stderr } = await cli(["import", "--from", "auth0", "--dry-run", "--json", "--report", report, fixture("auth0/bad.ndjson")]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ source: "auth0", dry_run: true, checked: 2, failed: 3, ignored: 0, report });
    expect(stderr).toContain("line 4: email: must be a string, not an array (invalid_field); user_id: must be a string, not 42");
    const entries = readFileSync(report, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(entries.map((e) => e.line)).toEqual([2, 3, 4]);
    expect(entries[0]).toEqual({
      line: 2,
      errors: [expect.objectContaining({ path: "custom_password_hash.algorithm", code: "unsupported_password_hash" })],
      source: readFileSync(fixture("auth0/bad.ndjson"), "utf8").split("\n")[1],
    });
  });

  it("--dry-run of a good file exits 0 and tells what was left out", async () => {
    const { code, stdout, stderr } = await cli(["import", "--from", "keycloak", "--dry-run", "--report", join(tmp(), "r"), fixture("keycloak/realm-export.json")]);
    expect(code).toBe(0);
    expect(stdout).toBe("2 users would be sent, 0 failed the checks, 1 left out (dry run: nothing sent)\n");
    expect(stderr).toContain("line 65: left out: a client's service account, not a person");
  });
});

describe("HTTP client", () => {
  it("waits as Retry-After says (bounded) on 429 and 503, retries a failed connection, then gives the answer", async () => {
    const answers = [
      () => new Response(null, { status: 429, headers: { "retry-after": "3" } }),
      () => new Response(null, { status: 503, headers: { "retry-after": "3600" } }),
      () => {
        throw new TypeError("fetch failed", { cause: { code: "ECONNRESET", message: "socket hang up" } });
      },
      () => new Response("ok", { status: 200 }),
    ];
    const waits = [];
    const seen = [];
    const client = createClient({
      url: "http://127.0.0.1:1/base",
      key: "up_k",
      tenant: "acme",
      fetch: async (url, init) => {
        seen.push([String(url), init.headers["x-tenant"], init.headers.authorization, init.headers["idempotency-key"]]);
        return answers[seen.length - 1]();
      },
      sleep: async (ms) => waits.push(ms),
    });
    const response = await client.request("POST", "v1/users/import", { body: "{}", headers: { "idempotency-key": "k1" } });
    expect(response.status).toBe(200);
    expect(waits).toEqual([3000, 60_000, 4000]);
    expect(seen).toEqual(Array(4).fill(["http://127.0.0.1:1/base/v1/users/import", "acme", "Bearer up_k", "k1"]));
  });

  it("stops after a bounded number of attempts", async () => {
    let calls = 0;
    const client = createClient({ url: "http://x", key: "k", maxAttempts: 3, sleep: async () => {}, fetch: async () => (calls++, new Response(null, { status: 429 })) });
    expect((await client.request("GET", "v1/users/export")).status).toBe(429);
    expect(calls).toBe(3);
  });

  it("reads Retry-After as seconds or a date, and Link rel=next among others", () => {
    expect(retryAfterSeconds("7")).toBe(7);
    expect(retryAfterSeconds(new Date(10_000).toUTCString(), 4_000)).toBe(6);
    expect(retryAfterSeconds("soon")).toBeNull();
    expect(nextLink('</v1/users/export?cursor=a&limit=2>; rel="next"')).toBe("/v1/users/export?cursor=a&limit=2");
    expect(nextLink('<https://x/p?c=1>; rel="prev", <https://x/n?c=2>; rel="next"')).toBe("https://x/n?c=2");
    expect(nextLink('<https://x/p>; rel="prev"')).toBeNull();
    expect(nextLink(null)).toBeNull();
  });
});
