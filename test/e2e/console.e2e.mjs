// The console in a real browser, one test per flow (issue 14). `npm run test:e2e`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { apiClient, expectAccessible, launchBrowser, newPage, signIn, startWorker, unique } from "./harness.mjs";

let worker;
let browser;
let api;
const t = {};

before(async () => {
  worker = await startWorker();
  browser = await launchBrowser();
  api = apiClient(worker.base);
  t.slug = `e2e-${unique()}`;
  t.owner = { email: `owner@${t.slug}.test`, password: "owner-password-1" };
  const tenant = await api("POST", "/v1/tenants", {
    token: worker.platformKey,
    body: { slug: t.slug, name: "E2E", owner: { ...t.owner, first_name: "Olive", last_name: "Owner" } },
  });
  assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
  t.tenantId = tenant.body.id;
  t.ownerToken = (await api("POST", "/v1/auth/token", { body: { tenant: t.slug, ...t.owner } })).body.access_token;
  // 30 more users: more than one page of 25.
  for (let i = 0; i < 30; i++) {
    const n = String(i).padStart(2, "0");
    const res = await api("POST", "/v1/users", {
      token: t.ownerToken,
      body: { email: `person${n}@${t.slug}.test`, username: `person${n}`, first_name: `Person${n}`, last_name: "Example" },
    });
    assert.equal(res.status, 201);
  }
}, { timeout: 180_000 });

after(async () => {
  await browser?.close();
  await worker?.stop();
});

const ownerPage = async () => {
  const { context, page } = await newPage(browser);
  await signIn(page, worker.base, { tenant: t.slug, ...t.owner });
  assert.match(page.url(), /\/console\/users$/);
  return { context, page };
};

async function createUser(body) {
  const res = await api("POST", "/v1/users", { token: t.ownerToken, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

describe("console", () => {
  it("signs in: a wrong password shows the 401's detail, the right one sets the token cookie", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, worker.base, { tenant: t.slug, email: t.owner.email, password: "not-the-password" });
    const refused = await api("POST", "/v1/auth/token", { body: { tenant: t.slug, email: t.owner.email, password: "not-the-password" } });
    assert.equal(refused.status, 401);
    assert.equal((await page.getByRole("alert").textContent()).trim(), refused.body.detail);
    await expectAccessible(page, "sign-in with an error");

    await signIn(page, worker.base, { tenant: t.slug, ...t.owner });
    assert.match(page.url(), /\/console\/users$/);
    const cookie = (await context.cookies()).find((c) => c.name === "token");
    assert.ok(cookie, "a token cookie");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.secure, false, "no Secure on http://127.0.0.1");
    for (const name of ["Users", "Roles", "API keys", "Events", "Webhooks"]) {
      assert.equal(await page.getByRole("link", { name, exact: true }).count(), 1, name);
    }
    await expectAccessible(page, "users");
    await context.close();
  });

  it("every page but sign-in leads to sign-in without a session", async () => {
    const { context, page } = await newPage(browser);
    for (const path of ["/console", "/console/users", "/console/users/new", "/console/users/usr_x", "/console/roles", "/console/api-keys", "/console/events", "/console/webhooks", "/console/password"]) {
      await page.goto(`${worker.base}${path}`);
      assert.match(new URL(page.url()).pathname, /^\/console\/sign-in$/, path);
    }
    const csp = (await page.request.get(`${worker.base}/console/sign-in`)).headers()["content-security-policy"];
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    await context.close();
  });

  it("searches users", async () => {
    const { context, page } = await ownerPage();
    await page.getByRole("searchbox", { name: "Search users" }).fill("person07");
    await page.getByRole("searchbox", { name: "Search users" }).press("Enter");
    await page.waitForURL(/search=person07/);
    const rows = page.locator("tbody tr");
    assert.equal(await rows.count(), 1);
    assert.equal(await page.getByRole("link", { name: "Person07 Example" }).count(), 1);
    assert.match(await page.locator(".count").textContent(), /^1 user$/);
    await context.close();
  });

  it("pages with Next and Previous, keeping the filter and the sort, and sorts by a column header", async () => {
    const { context, page } = await ownerPage();
    assert.match(await page.locator(".count").textContent(), /^31 users$/);
    await page.getByRole("link", { name: "Email", exact: true }).click();
    await page.waitForURL(/sort=email/);
    const emails = async () => page.locator("tbody tr td:nth-child(2)").allTextContents();
    const first = await emails();
    assert.equal(first.length, 25);
    assert.deepEqual(first, [...first].sort());
    assert.equal(first[0], `owner@${t.slug}.test`);
    await page.getByRole("link", { name: "Email", exact: true }).click();
    await page.waitForURL(/sort=-email/);
    assert.equal((await emails())[0], `person29@${t.slug}.test`);

    await page.getByLabel("Status", { exact: true }).selectOption("active");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForURL(/status=active/);
    assert.equal(await page.getByRole("button", { name: "Previous" }).isDisabled(), true);
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/cursor=/);
    const second = await emails();
    assert.equal(second.length, 6);
    assert.match(page.url(), /status=active/);
    assert.match(page.url(), /sort=-email/);
    assert.equal(await page.getByRole("button", { name: "Next" }).isDisabled(), true);
    await page.getByRole("button", { name: "Previous" }).click();
    await page.waitForURL(/cursor=/);
    assert.equal((await emails())[0], `person29@${t.slug}.test`);
    assert.equal((await emails()).length, 25);
    await context.close();
  });

  it("opens a user from the table", async () => {
    const { context, page } = await ownerPage();
    await page.getByRole("link", { name: "Person28 Example" }).click();
    await page.waitForURL(/\/console\/users\/usr_/);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Person28 Example");
    assert.equal(await page.getByLabel("First name", { exact: true }).inputValue(), "Person28");
    assert.equal(await page.getByLabel("Username", { exact: true }).inputValue(), "person28");
    assert.equal(await page.getByLabel("Email", { exact: true }).inputValue(), `person28@${t.slug}.test`);
    assert.equal(JSON.parse(await page.getByLabel("Metadata", { exact: true }).inputValue()).constructor, Object);
    for (const name of ["Save", "Deactivate", "Issue reset token", "Revoke all sessions", "Delete user"]) {
      assert.equal(await page.getByRole("button", { name, exact: true }).count(), 1, name);
    }
    for (const heading of ["Sessions", "Managed users", "Recent events"]) {
      assert.equal(await page.getByRole("heading", { name: heading, exact: true }).count(), 1, heading);
    }
    await expectAccessible(page, "user");
    await context.close();
  });

  it("edits a user; a stale edit shows the 412's detail and changes nothing", async () => {
    const user = await createUser({ email: `edit-${unique()}@${t.slug}.test`, first_name: "Eda", last_name: "Editor" });
    const { context, page } = await ownerPage();
    const other = await context.newPage();
    for (const p of [page, other]) await p.goto(`${worker.base}/console/users/${user.id}`);
    await page.getByLabel("First name", { exact: true }).fill("Edith");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/notice=saved/);
    assert.equal((await page.getByRole("status").first().textContent()).trim(), "Saved.");
    assert.equal((await api("GET", `/v1/users/${user.id}`, { token: t.ownerToken })).body.first_name, "Edith");

    await other.getByLabel("Last name", { exact: true }).fill("Stale");
    await other.getByRole("button", { name: "Save", exact: true }).click();
    await other.waitForLoadState("load");
    const stale = await api("PATCH", `/v1/users/${user.id}`, { token: t.ownerToken, headers: { "if-match": '"usr-stale-0"' }, body: { last_name: "Stale" } });
    assert.equal(stale.status, 412);
    assert.equal((await other.getByRole("alert").textContent()).trim(), stale.body.detail);
    const now = (await api("GET", `/v1/users/${user.id}`, { token: t.ownerToken })).body;
    assert.equal(now.last_name, "Editor");
    assert.equal(now.first_name, "Edith");
    await expectAccessible(other, "user with a stale-edit alert");
    await context.close();
  });

  it("edits metadata as JSON: invalid JSON is refused with a clear error, removed keys are removed", async () => {
    const user = await createUser({ email: `meta-${unique()}@${t.slug}.test`, metadata: { plan: "free", seats: 3, nested: { a: 1, b: 2 } } });
    const { context, page } = await ownerPage();
    await page.goto(`${worker.base}/console/users/${user.id}`);
    const metadata = page.getByLabel("Metadata", { exact: true });
    await metadata.fill('{"plan": "pro",');
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForLoadState("load");
    assert.match(await page.getByRole("alert").textContent(), /Metadata is not valid JSON/);
    assert.equal(await metadata.inputValue(), '{"plan": "pro",', "what was typed is kept");
    assert.deepEqual((await api("GET", `/v1/users/${user.id}`, { token: t.ownerToken })).body.metadata, user.metadata);

    await metadata.fill(JSON.stringify({ plan: "pro", nested: { a: 1 }, tags: ["x"] }));
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/notice=saved/);
    assert.deepEqual((await api("GET", `/v1/users/${user.id}`, { token: t.ownerToken })).body.metadata, { plan: "pro", nested: { a: 1 }, tags: ["x"] });
    await context.close();
  });

  it("deactivates and activates a user", async () => {
    const user = await createUser({ email: `active-${unique()}@${t.slug}.test` });
    const { context, page } = await ownerPage();
    await page.goto(`${worker.base}/console/users/${user.id}`);
    await page.getByRole("button", { name: "Deactivate", exact: true }).click();
    await page.waitForURL(/notice=deactivated/);
    assert.equal((await api("GET", `/v1/users/${user.id}`, { token: t.ownerToken })).body.is_active, false);
    assert.equal(await page.getByRole("button", { name: "Deactivate", exact: true }).count(), 0);
    await page.getByRole("button", { name: "Activate", exact: true }).click();
    await page.waitForURL(/notice=activated/);
    assert.equal((await api("GET", `/v1/users/${user.id}`, { token: t.ownerToken })).body.is_active, true);
    await context.close();
  });

  it("issues a reset token shown once, which redeems through the API", async () => {
    const email = `reset-${unique()}@${t.slug}.test`;
    const user = await createUser({ email, password: "old-password-1" });
    const { context, page } = await ownerPage();
    await page.goto(`${worker.base}/console/users/${user.id}`);
    await page.getByRole("button", { name: "Issue reset token", exact: true }).click();
    await page.waitForLoadState("load");
    const token = (await page.locator("#reset-token").textContent()).trim();
    assert.ok(token.length > 20);
    assert.equal(await page.getByRole("button", { name: "Copy" }).isVisible(), true);
    await expectAccessible(page, "user with a reset token");
    await page.goto(`${worker.base}/console/users/${user.id}`);
    assert.equal(await page.locator("#reset-token").count(), 0, "shown only once");
    assert.equal((await api("POST", "/v1/password-resets/confirm", { body: { reset_token: token, password: "new-password-2" } })).status, 204);
    assert.equal((await api("POST", "/v1/auth/token", { body: { tenant: t.slug, email, password: "new-password-2" } })).status, 200);
    await context.close();
  });

  it("revokes one session and then all sessions of a user", async () => {
    const email = `sessions-${unique()}@${t.slug}.test`;
    const user = await createUser({ email, password: "session-password-1" });
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push((await api("POST", "/v1/auth/token", { body: { tenant: t.slug, email, password: "session-password-1" } })).body.access_token);
    const { context, page } = await ownerPage();
    await page.goto(`${worker.base}/console/users/${user.id}`);
    const sessions = page.getByRole("region", { name: "Sessions" });
    assert.equal(await sessions.getByRole("button", { name: "Revoke", exact: true }).count(), 3);
    await sessions.getByRole("button", { name: "Revoke", exact: true }).first().click();
    await page.waitForURL(/notice=session-revoked/);
    assert.equal(await sessions.getByRole("button", { name: "Revoke", exact: true }).count(), 2);
    await page.getByRole("button", { name: "Revoke all sessions", exact: true }).click();
    await page.waitForURL(/notice=sessions-revoked/);
    for (const token of tokens) assert.equal((await api("GET", "/v1/users/me", { token })).status, 401);
    await context.close();
  });

  it("deletes a user and their managed users after a confirmation, showing progress until done", async () => {
    const email = `manager-${unique()}@${t.slug}.test`;
    const manager = await createUser({ email, password: "manager-password-1", first_name: "Mona", last_name: "Manager" });
    const managerToken = (await api("POST", "/v1/auth/token", { body: { tenant: t.slug, email, password: "manager-password-1" } })).body.access_token;
    const managed = [];
    for (let i = 0; i < 3; i++) {
      managed.push((await api("POST", "/v1/users/me/managed-users", { token: managerToken, body: { first_name: "Kid", last_name: `No${i}` } })).body);
    }
    const { context, page } = await ownerPage();
    await page.goto(`${worker.base}/console/users/${manager.id}`);
    assert.equal(await page.getByRole("link", { name: "Kid No1" }).count(), 1, "managed users listed");
    await page.getByRole("button", { name: "Delete user", exact: true }).click();
    await page.waitForURL(/\/delete\??$/);
    assert.match(await page.getByRole("heading", { level: 1 }).textContent(), /Delete Mona Manager\?/);
    assert.match(await page.locator("main").textContent(), /3 users they manage/);
    await expectAccessible(page, "delete confirmation");
    assert.equal((await api("GET", `/v1/users/${manager.id}`, { token: t.ownerToken })).status, 200, "nothing before the confirmation");
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByText("Mona Manager was deleted.").waitFor();
    await page.waitForURL(/notice=deleted/);
    for (const u of [manager, ...managed]) assert.equal((await api("GET", `/v1/users/${u.id}`, { token: t.ownerToken })).status, 404);
    await context.close();
  });

  it("creates a user with a temporary password, who must change it before anything else", async () => {
    const { context, page } = await ownerPage();
    await page.getByRole("link", { name: "New user", exact: true }).click();
    await page.waitForURL(/\/console\/users\/new$/);
    await expectAccessible(page, "new user");
    const email = `new-${unique()}@${t.slug}.test`;
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("First name", { exact: true }).fill("Nora");
    await page.getByLabel("Last name", { exact: true }).fill("Newcomer");
    await page.getByLabel("Password", { exact: true }).fill("temporary-pass-1");
    await page.getByRole("button", { name: "Create user", exact: true }).click();
    await page.waitForURL(/notice=created/);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Nora Newcomer");
    await context.close();

    const fresh = await newPage(browser);
    await signIn(fresh.page, worker.base, { tenant: t.slug, email, password: "temporary-pass-1" });
    assert.match(fresh.page.url(), /\/console\/password$/);
    await expectAccessible(fresh.page, "password change");
    await fresh.page.goto(`${worker.base}/console/users`);
    assert.match(fresh.page.url(), /\/console\/password$/, "nothing else before the change");
    await fresh.page.getByLabel("Current password", { exact: true }).fill("temporary-pass-1");
    await fresh.page.getByLabel("New password", { exact: true }).fill("my-own-password-2");
    await fresh.page.getByRole("button", { name: "Change password", exact: true }).click();
    await fresh.page.waitForURL(/notice=password-changed/);
    assert.equal((await api("POST", "/v1/auth/token", { body: { tenant: t.slug, email, password: "my-own-password-2" } })).body.password_change_required, false);
    await fresh.context.close();
  });

  it("creates, changes and deletes a custom role with the permission picker", async () => {
    const { context, page } = await ownerPage();
    await page.getByRole("link", { name: "Roles", exact: true }).click();
    await page.waitForURL(/\/console\/roles$/);
    await expectAccessible(page, "roles");
    const name = `TASK-ADMIN-${unique()}`;
    await page.getByLabel("Name", { exact: true }).fill(name);
    const create = page.locator("form", { has: page.getByRole("button", { name: "Create role" }) });
    await create.getByLabel("users:read", { exact: true }).check();
    await create.getByLabel("Other permissions", { exact: true }).fill("tasks:admin");
    await page.getByRole("button", { name: "Create role", exact: true }).click();
    await page.waitForURL(/notice=role-created/);
    const role = await api("GET", `/v1/roles/${name}`, { token: t.ownerToken });
    assert.deepEqual([...role.body.permissions].sort(), ["tasks:admin", "users:read"]);

    await page.getByText(`Edit ${name}`).click();
    const edit = page.locator("details", { hasText: `Edit ${name}` });
    await edit.getByLabel("events:read", { exact: true }).check();
    await edit.getByRole("button", { name: "Save role" }).click();
    await page.waitForURL(/notice=role-saved/);
    assert.ok((await api("GET", `/v1/roles/${name}`, { token: t.ownerToken })).body.permissions.includes("events:read"));
    await page.getByText(`Edit ${name}`).click();
    await page.getByRole("button", { name: `Delete role ${name}` }).click();
    await page.waitForURL(/notice=role-deleted/);
    assert.equal((await api("GET", `/v1/roles/${name}`, { token: t.ownerToken })).status, 404);
    await context.close();
  });

  it("creates an API key shown once, and revokes it", async () => {
    const { context, page } = await ownerPage();
    await page.getByRole("link", { name: "API keys", exact: true }).click();
    await page.waitForURL(/\/console\/api-keys$/);
    await expectAccessible(page, "api keys");
    await page.getByLabel("Name", { exact: true }).fill("ci key");
    await page.getByLabel("admin", { exact: true }).check();
    await page.getByRole("button", { name: "Create API key", exact: true }).click();
    await page.waitForLoadState("load");
    const key = (await page.locator("#new-key").textContent()).trim();
    assert.match(key, /^up_/);
    assert.equal((await api("GET", "/v1/users?limit=1", { token: key })).status, 200);
    await page.goto(`${worker.base}/console/api-keys`);
    assert.equal(await page.locator("#new-key").count(), 0, "shown only once");
    await page.getByRole("button", { name: "Revoke ci key" }).click();
    await page.waitForURL(/notice=key-revoked/);
    assert.equal((await api("GET", "/v1/users?limit=1", { token: key })).status, 401);
    await context.close();
  });

  it("shows events, filtered by type", async () => {
    const { context, page } = await ownerPage();
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.waitForURL(/\/console\/events$/);
    await expectAccessible(page, "events");
    await page.getByLabel("Type", { exact: true }).selectOption("user.created");
    await page.getByRole("button", { name: "Filter", exact: true }).click();
    await page.waitForURL(/type=user.created/);
    const types = await page.locator("tbody tr td:nth-child(2)").allTextContents();
    assert.ok(types.length > 0);
    assert.ok(types.every((x) => x.trim() === "user.created"), types.join());
    await context.close();
  });

  it("a member sees what they may see, and is offered nothing they may not do", async () => {
    const email = `member-${unique()}@${t.slug}.test`;
    const member = await createUser({ email, password: "member-password-1", first_name: "Mel", last_name: "Member" });
    const { context, page } = await newPage(browser);
    await signIn(page, worker.base, { tenant: t.slug, email, password: "member-password-1" });
    assert.match(page.url(), /\/console\/users$/);
    assert.deepEqual(await page.locator("tbody tr td:first-child a").allTextContents(), ["Mel Member"]);
    assert.equal(await page.getByRole("link", { name: "New user" }).count(), 0);
    await expectAccessible(page, "member users");

    await page.getByRole("link", { name: "Mel Member", exact: true }).click();
    for (const name of ["Deactivate", "Activate"]) assert.equal(await page.getByRole("button", { name, exact: true }).count(), 0, name);
    assert.equal(await page.getByLabel("Email", { exact: true }).getAttribute("readonly"), "", "email is not the member's to change");
    await page.getByLabel("First name", { exact: true }).fill("Melody");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/notice=saved/);
    assert.equal((await api("GET", `/v1/users/${member.id}`, { token: t.ownerToken })).body.first_name, "Melody");

    const ownerId = (await api("GET", "/v1/users/me", { token: t.ownerToken })).body.id;
    await page.goto(`${worker.base}/console/users/${ownerId}`);
    assert.match(await page.getByRole("alert").textContent(), /not found/i);
    for (const [path, create] of [["/console/roles", "Create role"], ["/console/api-keys", "Create API key"], ["/console/events", null]]) {
      await page.goto(`${worker.base}${path}`);
      assert.match(await page.getByRole("alert").textContent(), /permission/i, path);
      if (create) assert.equal(await page.getByRole("button", { name: create }).count(), 0, path);
      await expectAccessible(page, `member ${path}`);
    }
    await context.close();
  });

  it("signs out: the session is revoked and the cookie cleared", async () => {
    const { context, page } = await ownerPage();
    const token = (await context.cookies()).find((c) => c.name === "token").value;
    assert.equal((await api("GET", "/v1/users/me", { token })).status, 200);
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.waitForURL(/\/console\/sign-in/);
    assert.equal((await context.cookies()).find((c) => c.name === "token"), undefined);
    assert.equal((await api("GET", "/v1/users/me", { token })).status, 401);
    await page.goto(`${worker.base}/console/users`);
    assert.match(new URL(page.url()).pathname, /^\/console\/sign-in$/);
    await context.close();
  });
});
