#!/usr/bin/env node
// `npm run smoke` (second part): the migration CLI end to end against `npm run dev`. Imports the
// fixtures of every source (test/fixtures/migrate) into tenant A through the CLI, signs in with
// the users' old passwords, exports A with credentials, imports that export into an empty tenant
// B with new ids, and checks B holds the same users (roles, metadata, managers, timestamps) who
// sign in with the same passwords; then an interrupted import resumed from its state file.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, startDevServer } from "./lib/dev-server.mjs";
import { check, expectStatus, httpClient, runSteps } from "./lib/steps.mjs";

const server = await startDevServer({ name: "smoke-migrate" });
const { platformKey, waitForHealth } = server;
const http = httpClient(server.base);
const work = mkdtempSync(join(tmpdir(), "userplane-smoke-migrate-files-"));
const fixture = (path) => join(root, "test", "fixtures", "migrate", path);

/** Runs the CLI as `npm run userplane -- …` would; `{ code, stdout, stderr, json }`. */
function cli(args, { tenant, onStderr } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, "scripts", "userplane.mjs"), ...args], {
      env: { ...process.env, USERPLANE_URL: server.base, USERPLANE_KEY: platformKey, USERPLANE_TENANT: tenant ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = { stdout: "", stderr: "" };
    child.stdout.on("data", (c) => (out.stdout += c));
    child.stderr.on("data", (c) => {
      out.stderr += c;
      onStderr?.(String(c), child);
    });
    child.on("exit", (code) => {
      let json = null;
      try {
        json = JSON.parse(out.stdout.trim().split("\n").at(-1));
      } catch {
        json = null;
      }
      resolve({ code, ...out, json });
    });
  });
}

function expectCli(result, code, what) {
  check(result.code === code, `${what}: exit ${result.code}, expected ${code}\n    stdout: ${result.stdout.trim()}\n    stderr: ${result.stderr.trim().slice(-800)}`);
  return result.json;
}

const readNdjson = (path) => readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line));

const run = randomBytes(4).toString("hex");
const tenantA = `migrate-a-${run}`;
const tenantB = `migrate-b-${run}`;
const tenantC = `migrate-c-${run}`;
const owner = { email: `owner@${tenantA}.example`, password: "migrate-owner-password" };
const firebaseHash = ["--hash-key", "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==", "--salt-separator", "Bw==", "--rounds", "8", "--mem-cost", "14"];
const IMPORTS = [
  ["auth0", "auth0/users.ndjson", [], 3],
  ["firebase", "firebase/users.json", firebaseHash, 2],
  ["keycloak", "keycloak/realm-export.json", [], 2],
  ["supabase", "supabase/users.json", [], 2],
  ["supabase", "supabase/users.csv", [], 2],
];
// One user per hash format the fixtures carry, with the password the hash was made from.
const PASSWORDS = [
  ["ada@auth0.example", "auth0-password-1"], // bcrypt $2b$ (Auth0 hash export)
  ["grace@auth0.example", "auth0-password-2"], // bcrypt $2b$ (export job line)
  ["user1@firebase.example", "user1password"], // Firebase scrypt (published test vector)
  ["alan@keycloak.example", "keycloak-password-1"], // pbkdf2-sha256
  ["joan@keycloak.example", "keycloak-password-2"], // pbkdf2-sha512, must change it (UPDATE_PASSWORD)
  ["rosalind@supabase.example", "supabase-password-1"], // bcrypt $2a$ (JSON rows)
  ["dorothy@supabase.example", "supabase-password-2"], // bcrypt $2a$ (CSV rows)
];
const state = {};

async function signInAll(tenant) {
  for (const [email, password] of [[owner.email, owner.password], ...PASSWORDS]) {
    const token = expectStatus(await http("POST", "/v1/auth/token", { body: { tenant, email, password } }), 200, `${email} signs in to ${tenant}`);
    check(token.password_change_required === (email === "joan@keycloak.example"), `${email}: password_change_required ${token.password_change_required}`);
  }
}

/** What must survive the round trip, keyed by the user's way in. */
function comparable(user, idToKey) {
  const { id, tenant_id, updated_at, password_hash, manager_id, display_name, ...rest } = user;
  return {
    ...rest,
    // Derived: for a user with no name, username or email it is the id, which "ids": "new" changes.
    display_name: display_name === id ? "<id>" : display_name,
    manager: manager_id ? idToKey.get(manager_id) : null,
    has_hash: Boolean(password_hash),
  };
}
const keyOf = (user) => user.email ?? user.external_id ?? `${user.first_name} ${user.last_name}`;

const steps = [
  ["server answers GET /healthz", () => waitForHealth()],
  ["tenant A with an owner, who adds a managed user", async () => {
    expectStatus(await http("POST", "/v1/tenants", { token: platformKey, body: { slug: tenantA, name: "Migration A", owner } }), 201, "create A");
    const token = expectStatus(await http("POST", "/v1/auth/token", { body: { tenant: tenantA, ...owner } }), 200, "owner signs in");
    const managed = expectStatus(
      await http("POST", "/v1/users/me/managed-users", { token: token.access_token, body: { first_name: "Kit", last_name: "Managed" } }),
      201,
      "managed user",
    );
    check(managed.is_managed === true, "not managed");
  }],
  ["the CLI imports every source's fixture into A with no failed item", async () => {
    for (const [i, [source, file, extra, created]] of IMPORTS.entries()) {
      const result = await cli(["import", "--from", source, fixture(file), "--json", "--state", join(work, `import-${i}.state`), "--report", join(work, "a-failed.ndjson"), ...extra], { tenant: tenantA });
      const summary = expectCli(result, 0, `import --from ${source} ${file}`);
      check(summary.created === created && summary.failed === 0, `${file}: ${JSON.stringify(summary)}`);
    }
  }],
  ["imported users sign in with their old passwords (bcrypt, Firebase scrypt, PBKDF2)", () => signInAll(tenantA)],
  ["a second import of the same file skips (exit 0) or fails (exit 1, report names line and code)", async () => {
    const skip = await cli(["import", "--from", "auth0", fixture("auth0/users.ndjson"), "--on-conflict", "skip", "--json", "--state", join(work, "skip.state")], { tenant: tenantA });
    check(expectCli(skip, 0, "--on-conflict skip").skipped === 3, `skip: ${skip.stdout}`);
    const report = join(work, "conflicts.ndjson");
    const fail = await cli(["import", "--from", "auth0", fixture("auth0/users.ndjson"), "--json", "--state", join(work, "fail.state"), "--report", report], { tenant: tenantA });
    check(expectCli(fail, 1, "--on-conflict fail").failed === 3, `fail: ${fail.stdout}`);
    const entries = readNdjson(report);
    check(JSON.stringify(entries.map((e) => e.line)) === "[1,2,4]", `report lines ${entries.map((e) => e.line)}`);
    check(entries.every((e) => e.errors.some((x) => x.code === "conflict")), `report codes ${JSON.stringify(entries.map((e) => e.errors))}`);
  }],
  ["export of A with credentials follows the Link pages to the end", async () => {
    state.exportA = join(work, "a.ndjson");
    const summary = expectCli(await cli(["export", "--out", state.exportA, "--include-credentials", "--limit", "3", "--json"], { tenant: tenantA }), 0, "export A");
    state.usersA = readNdjson(state.exportA);
    check(summary.users === 13 && summary.pages === 5 && state.usersA.length === 13, `export A: ${JSON.stringify(summary)}, ${state.usersA.length} lines`);
    check(state.usersA.filter((u) => u.password_hash).length === 8, "expected 8 users with a password hash");
  }],
  ["that export imported into an empty tenant B with new ids", async () => {
    expectStatus(await http("POST", "/v1/tenants", { token: platformKey, body: { slug: tenantB, name: "Migration B" } }), 201, "create B");
    const summary = expectCli(await cli(["import", "--from", "userplane", state.exportA, "--ids", "new", "--json", "--state", join(work, "b.state")], { tenant: tenantB }), 0, "import into B");
    check(summary.created === 13 && summary.failed === 0, `import into B: ${JSON.stringify(summary)}`);
  }],
  ["B has the same users, roles, metadata, managers and timestamps under new ids", async () => {
    const exportB = join(work, "b.ndjson");
    expectCli(await cli(["export", "--out", exportB, "--include-credentials"], { tenant: tenantB }), 0, "export B");
    const usersB = readNdjson(exportB);
    const keysA = new Map(state.usersA.map((u) => [u.id, keyOf(u)]));
    const keysB = new Map(usersB.map((u) => [u.id, keyOf(u)]));
    const a = Object.fromEntries(state.usersA.map((u) => [keyOf(u), comparable(u, keysA)]));
    const b = Object.fromEntries(usersB.map((u) => [keyOf(u), comparable(u, keysB)]));
    check(JSON.stringify(Object.keys(b).sort()) === JSON.stringify(Object.keys(a).sort()), `users differ: ${Object.keys(a)} vs ${Object.keys(b)}`);
    for (const key of Object.keys(a)) {
      check(JSON.stringify(b[key]) === JSON.stringify(a[key]), `${key} differs:\n    A ${JSON.stringify(a[key])}\n    B ${JSON.stringify(b[key])}`);
    }
    check(usersB.every((u) => !keysA.has(u.id)), "an id was kept although --ids new");
    check(a["Kit Managed"]?.manager === owner.email, "the managed user lost its manager");
  }],
  ["every user signs in to B with the same password", () => signInAll(tenantB)],
  ["an interrupted import (Ctrl-C) carries on with --resume: every user once", async () => {
    expectStatus(await http("POST", "/v1/tenants", { token: platformKey, body: { slug: tenantC, name: "Migration C" } }), 201, "create C");
    const file = join(work, "many.ndjson");
    writeFileSync(file, Array.from({ length: 60 }, (_, i) => JSON.stringify({ user_id: `auth0|many${i}`, email: `many${i}@auth0.example` })).join("\n"));
    const args = ["import", "--from", "auth0", file, "--batch", "5", "--json"];
    let interrupted = false;
    const first = await cli(args, {
      tenant: tenantC,
      onStderr: (text, child) => {
        if (!interrupted && /import: .*5 of 60/.test(text)) {
          interrupted = true;
          child.kill("SIGINT");
        }
      },
    });
    const partial = expectCli(first, 130, "interrupted import");
    check(partial.interrupted === true && partial.created >= 5 && partial.created < 60, `interrupted: ${first.stdout}`);
    const rest = expectCli(await cli([...args, "--resume"], { tenant: tenantC }), 0, "--resume");
    check(rest.created === 60 && rest.failed === 0, `resumed: ${JSON.stringify(rest)}`);
    const out = join(work, "c.ndjson");
    expectCli(await cli(["export", "--out", out], { tenant: tenantC }), 0, "export C");
    const emails = readNdjson(out).map((u) => u.email);
    check(emails.length === 60 && new Set(emails).size === 60, `C holds ${emails.length} users`);
  }],
];

const code = await runSteps(steps, server);
rmSync(work, { recursive: true, force: true });
process.exit(code);
