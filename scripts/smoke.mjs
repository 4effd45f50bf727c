#!/usr/bin/env node
// `npm run smoke`: the CI smoke test. Starts the app exactly as the README says
//   npm run dev -- --port <free port> --ip 127.0.0.1 --persist-to <tmp dir> --var BOOTSTRAP_API_KEY:<random>
// waits for /healthz, runs the main flow over real HTTP (tenant with owner, sign-in, a webhook to a
// local receiver on 127.0.0.1, create, list, search, password reset, delete), prints one line per
// step, then stops the server by the process id it spawned and checks that nothing is left
// listening. Exits non-zero on any failure.
import { createHmac, randomBytes } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { sleep, startDevServer } from "./lib/dev-server.mjs";
import { check, expectStatus, httpClient, runSteps } from "./lib/steps.mjs";

// --- the server ------------------------------------------------------------------------------

const server = await startDevServer({ name: "smoke", vars: { WEBHOOK_ALLOW_INSECURE_URLS: "true" } });
const { platformKey, waitForHealth } = server;
const http = httpClient(server.base);

// --- the webhook receiver: a tiny HTTP server on 127.0.0.1 that records what it is sent ------------

const hooksReceived = [];
const receiver = createHttpServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    hooksReceived.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    res.writeHead(200).end("ok");
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverPort = receiver.address().port;

/** Standard Webhooks verification: one of the v1 signatures is the HMAC of "<id>.<timestamp>.<body>". */
function signedBy(secret, { headers, body }) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`).digest("base64");
  return String(headers["webhook-signature"] ?? "").split(" ").includes(`v1,${expected}`);
}

// --- the flow --------------------------------------------------------------------------------

const run = randomBytes(4).toString("hex");
const slug = `smoke-${run}`;
const owner = { email: `owner@${slug}.example`, password: "smoke-owner-password" };
const person = {
  email: `Quinn.Zephyrine@${slug}.example`,
  username: `quinn-${run}`,
  first_name: "Quinn",
  last_name: `Zephyrine${run}`,
  password: "first-password-1",
};
const newPassword = "second-password-2";
const state = {};

const steps = [
  ["server answers GET /healthz", async () => {
    await waitForHealth();
  }],
  ["create a tenant with an owner (POST /v1/tenants)", async () => {
    const tenant = expectStatus(
      await http("POST", "/v1/tenants", { token: platformKey, body: { slug, name: "Smoke test", owner } }),
      201,
      "create tenant",
    );
    check(tenant.slug === slug && tenant.id?.startsWith("ten_"), `unexpected tenant ${JSON.stringify(tenant)}`);
  }],
  ["owner signs in (POST /v1/auth/token)", async () => {
    const token = expectStatus(await http("POST", "/v1/auth/token", { body: { tenant: slug, ...owner } }), 200, "sign-in");
    check(token.token_type === "Bearer" && typeof token.access_token === "string", "no Bearer access_token");
    state.owner = token.access_token;
  }],
  ["owner points a webhook at a local receiver on 127.0.0.1 (POST /v1/webhooks)", async () => {
    const hook = expectStatus(
      await http("POST", "/v1/webhooks", { token: state.owner, body: { url: `http://127.0.0.1:${receiverPort}/hook`, events: ["user.created"] } }),
      201,
      "create webhook",
    );
    check(hook.id?.startsWith("whk_") && hook.secret?.startsWith("whsec_"), `unexpected webhook ${JSON.stringify(hook)}`);
    state.hookSecret = hook.secret;
  }],
  ["owner creates a user with a password (POST /v1/users)", async () => {
    const user = expectStatus(await http("POST", "/v1/users", { token: state.owner, body: person }), 201, "create user");
    check(user.id?.startsWith("usr_") && user.has_password === true, `unexpected user ${JSON.stringify(user)}`);
    state.userId = user.id;
  }],
  ["the user.created event reaches the receiver over real HTTP, signed (Standard Webhooks)", async () => {
    const deadline = Date.now() + 30_000;
    while (hooksReceived.length === 0 && Date.now() < deadline) await sleep(200);
    check(hooksReceived.length === 1, `the receiver got ${hooksReceived.length} deliveries`);
    const [got] = hooksReceived;
    const event = JSON.parse(got.body);
    check(event.type === "user.created" && event.data?.user_id === state.userId, `unexpected delivery ${got.body}`);
    check(got.headers["webhook-id"] === event.id, "webhook-id is not the event id");
    check(signedBy(state.hookSecret, got), "the signature does not verify with the endpoint's secret");
  }],
  ["the list shows the owner and the user (GET /v1/users)", async () => {
    const page = expectStatus(await http("GET", "/v1/users?limit=50", { token: state.owner }), 200, "list");
    const emails = page.items.map((u) => u.email?.toLowerCase());
    check(page.items.length === 2, `expected 2 users, got ${page.items.length}`);
    check(emails.includes(owner.email) && emails.includes(person.email.toLowerCase()), `missing users: ${emails}`);
  }],
  ["search finds the user by part of the last name, any case (GET /v1/users?search=)", async () => {
    const term = `zephyrine${run}`.slice(2, 9).toUpperCase();
    const page = expectStatus(await http("GET", `/v1/users?search=${encodeURIComponent(term)}`, { token: state.owner }), 200, "search");
    check(page.items.length === 1 && page.items[0].id === state.userId, `search ${term}: ${JSON.stringify(page.items.map((u) => u.id))}`);
  }],
  ["the user signs in with the first password", async () => {
    expectStatus(await http("POST", "/v1/auth/token", { body: { tenant: slug, email: person.email, password: person.password } }), 200, "sign-in");
  }],
  ["admin issues a password reset (POST /v1/users/{id}/password-resets)", async () => {
    const reset = expectStatus(await http("POST", `/v1/users/${state.userId}/password-resets`, { token: state.owner, body: {} }), 201, "reset");
    check(typeof reset.reset_token === "string" && reset.user_id === state.userId, `unexpected reset ${JSON.stringify(reset)}`);
    state.resetToken = reset.reset_token;
  }],
  ["the reset is confirmed with a new password (POST /v1/password-resets/confirm)", async () => {
    const body = { reset_token: state.resetToken, password: newPassword };
    expectStatus(await http("POST", "/v1/password-resets/confirm", { body }), 204, "confirm");
    const again = await http("POST", "/v1/password-resets/confirm", { body });
    check(again.status === 400 && again.json?.code === "invalid_reset_token", `a reused reset token got ${again.status}`);
  }],
  ["the old password is refused, the new one signs in", async () => {
    const old = await http("POST", "/v1/auth/token", { body: { tenant: slug, email: person.email, password: person.password } });
    check(old.status === 401, `old password got ${old.status}`);
    const token = expectStatus(
      await http("POST", "/v1/auth/token", { body: { tenant: slug, email: person.email, password: newPassword } }),
      200,
      "sign-in with the new password",
    );
    state.userToken = token.access_token;
    expectStatus(await http("GET", "/v1/users/me", { token: state.userToken }), 200, "GET /v1/users/me as the user");
  }],
  ["owner deletes the user (DELETE /v1/users/{id})", async () => {
    expectStatus(await http("DELETE", `/v1/users/${state.userId}`, { token: state.owner }), 204, "delete");
  }],
  ["the user is gone: 404, not listed, token and password refused", async () => {
    const read = await http("GET", `/v1/users/${state.userId}`, { token: state.owner });
    check(read.status === 404 && read.type.startsWith("application/problem+json"), `GET deleted user got ${read.status} ${read.type}`);
    const page = expectStatus(await http("GET", "/v1/users?limit=50", { token: state.owner }), 200, "list");
    check(!page.items.some((u) => u.id === state.userId), "the deleted user is still listed");
    const me = await http("GET", "/v1/users/me", { token: state.userToken });
    check(me.status === 401, `the deleted user's token got ${me.status}`);
    const signIn = await http("POST", "/v1/auth/token", { body: { tenant: slug, email: person.email, password: newPassword } });
    check(signIn.status === 401, `the deleted user's sign-in got ${signIn.status}`);
  }],
];

const code = await runSteps(steps, server);
receiver.close();
process.exit(code);
