// The console's webhooks page in a real browser, against the contract's /v1/webhooks routes.
// Not in `npm run test:e2e` until those routes are merged (the integrator adds this file there).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { apiClient, expectAccessible, launchBrowser, newPage, signIn, startWorker, unique } from "./harness.mjs";

let worker;
let browser;
let api;
let receiver;
const received = [];
const t = {};

before(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  t.hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  worker = await startWorker({ vars: { WEBHOOK_ALLOW_INSECURE_URLS: "true", WEBHOOK_RETRY_SCHEDULE: "1,1" } });
  browser = await launchBrowser();
  api = apiClient(worker.base);
  t.slug = `hooks-${unique()}`;
  t.owner = { email: `owner@${t.slug}.test`, password: "owner-password-1" };
  const tenant = await api("POST", "/v1/tenants", { token: worker.platformKey, body: { slug: t.slug, name: "Hooks", owner: t.owner } });
  assert.equal(tenant.status, 201);
  t.ownerToken = (await api("POST", "/v1/auth/token", { body: { tenant: t.slug, ...t.owner } })).body.access_token;
}, { timeout: 180_000 });

after(async () => {
  await browser?.close();
  await worker?.stop();
  receiver?.close();
});

describe("console webhooks", () => {
  it("creates an endpoint (secret shown once), sends a test delivery, retries it, disables and deletes the endpoint", async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, worker.base, { tenant: t.slug, ...t.owner });
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    await page.waitForURL(/\/console\/webhooks$/);
    await expectAccessible(page, "webhooks");
    await page.getByLabel("URL", { exact: true }).fill(t.hookUrl);
    await page.getByLabel("Events", { exact: true }).fill("user.created");
    await page.getByRole("button", { name: "Create endpoint", exact: true }).click();
    await page.waitForLoadState("load");
    assert.match((await page.locator("#webhook-secret").textContent()).trim(), /^whsec_/);
    const list = await api("GET", "/v1/webhooks", { token: t.ownerToken });
    assert.equal(list.body.items.length, 1);
    const hook = list.body.items[0];
    assert.deepEqual(hook.events, ["user.created"]);

    await page.getByRole("link", { name: t.hookUrl }).click();
    await page.waitForURL(/\/console\/webhooks\/whk_/);
    await expectAccessible(page, "webhook");
    await page.getByRole("button", { name: "Send test event", exact: true }).click();
    await page.waitForURL(/notice=webhook-tested/);
    // The delivery runs on the queue: reload until it has an outcome.
    let status = "";
    for (let i = 0; i < 40 && status !== "succeeded"; i++) {
      await page.reload();
      status = ((await page.locator("tbody tr td:nth-child(2)").first().textContent()) ?? "").trim();
      if (status !== "succeeded") await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(status, "succeeded");
    assert.ok(received.some((r) => r.body.includes("webhook.test")));
    await page.getByRole("button", { name: "Retry", exact: true }).first().click();
    await page.waitForURL(/notice=retried/);

    await page.getByRole("button", { name: "Disable", exact: true }).click();
    await page.waitForURL(/notice=webhook-saved/);
    assert.equal((await api("GET", `/v1/webhooks/${hook.id}`, { token: t.ownerToken })).body.enabled, false);
    await page.getByRole("button", { name: "Delete endpoint", exact: true }).click();
    await page.waitForURL(/notice=webhook-deleted/);
    assert.equal((await api("GET", `/v1/webhooks/${hook.id}`, { token: t.ownerToken })).status, 404);
    await context.close();
  });
});
