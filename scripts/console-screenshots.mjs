#!/usr/bin/env node
// Makes docs/console-users.png and docs/console-user.png: the worker started as the README says,
// a small realistic tenant created through the API, and the console photographed by playwright
// (Debian's chromium). `node scripts/console-screenshots.mjs`
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiClient, launchBrowser, newPage, signIn, startWorker } from "../test/e2e/harness.mjs";
import { generateUsers } from "./bench/seed.mjs";

const docs = join(dirname(fileURLToPath(import.meta.url)), "..", "docs");
const worker = await startWorker();
const api = apiClient(worker.base);
try {
  const owner = { email: "dana.owner@acme.example", password: "owner-password-1", first_name: "Dana", last_name: "Okafor" };
  await api("POST", "/v1/tenants", { token: worker.platformKey, body: { slug: "acme", name: "Acme", owner } });
  const token = (await api("POST", "/v1/auth/token", { body: { tenant: "acme", email: owner.email, password: owner.password } })).body.access_token;
  const people = generateUsers(48, 7);
  let featured;
  for (const [i, p] of people.entries()) {
    const body = {
      email: p.email,
      username: p.username,
      first_name: p.first_name,
      last_name: p.last_name,
      roles: i % 11 === 0 ? ["admin"] : ["member"],
      is_active: i % 9 !== 4,
      metadata: { department: JSON.parse(p.metadata).department, plan: i % 3 ? "pro" : "free" },
      ...(i === people.length - 3 ? { password: "featured-password-1" } : {}),
    };
    const user = (await api("POST", "/v1/users", { token, body })).body;
    if (i === people.length - 3) featured = user;
  }
  const featuredToken = (await api("POST", "/v1/auth/token", { body: { tenant: "acme", email: featured.email, password: "featured-password-1" } })).body.access_token;
  await api("POST", "/v1/auth/token", { body: { tenant: "acme", email: featured.email, password: "featured-password-1" } });
  for (const [first, last] of [["Noah", featured.last_name], ["Mia", featured.last_name]]) {
    await api("POST", "/v1/users/me/managed-users", { token: featuredToken, body: { first_name: first, last_name: last } });
  }
  await api("PATCH", `/v1/users/${featured.id}`, { token, body: { metadata: { team: "support-emea", seats: 5, flags: { beta: true } } } });

  const browser = await launchBrowser();
  for (const scheme of ["light"]) {
    const { context, page } = await newPage(browser, { viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1, colorScheme: scheme });
    await signIn(page, worker.base, { tenant: "acme", email: owner.email, password: owner.password });
    await page.goto(`${worker.base}/console/users`);
    await page.screenshot({ path: join(docs, "console-users.png") });
    await page.goto(`${worker.base}/console/users/${featured.id}`);
    await page.screenshot({ path: join(docs, "console-user.png"), fullPage: true });
    await context.close();
  }
  const { context, page } = await newPage(browser, { viewport: { width: 390, height: 760 }, deviceScaleFactor: 1, colorScheme: "dark" });
  await signIn(page, worker.base, { tenant: "acme", email: owner.email, password: owner.password });
  await page.screenshot({ path: join(docs, "console-users-phone-dark.png") });
  await context.close();
  await browser.close();
  console.log("wrote docs/console-users.png, docs/console-user.png, docs/console-users-phone-dark.png");
} finally {
  await worker.stop();
}
