import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";
import { buildConsumerWorker } from "./scripts/build-example.mjs";

/**
 * Tests run inside workerd with the worker's own config (wrangler.toml): same D1 binding, Durable
 * Objects and compatibility date. The committed SQL migrations are handed to the runtime as
 * TEST_MIGRATIONS and applied by test/apply-migrations.ts; D1 storage is isolated per test file.
 *
 * Projects: "api" (everything); "external-idp", the same worker with an external identity
 * provider configured (JWT_JWKS_URL & co.), which changes how foreign tokens are treated;
 * "webhooks-dev" and "integration" (see below); and "cli", the migration CLI's own tests
 * (scripts/cli: converters, readers, command line) in Node, where the CLI runs.
 */
const EXTERNAL_IDP_TESTS = ["test/external-idp.test.ts"];
/**
 * "integration": userplane with examples/consumer-worker beside it as an auxiliary Worker, bound
 * to the runner's UserplaneRpc entrypoint as in the example's wrangler.toml (tests reach it as
 * env.CONSUMER), and a 1-second sign-in lock-out so the client's 429 retry waits for real.
 */
const INTEGRATION_TESTS = ["test/consumer.test.ts", "test/client.test.ts"];
/** Webhooks as under `npm run dev` (http and loopback allowed), with the enqueue after each request dropped. */
const WEBHOOK_DEV_TESTS = ["test/webhooks-sweep.test.ts"];

/** SRI of the installed swagger-ui-dist files, read byte for byte here (tests cannot read files). */
function docsRendererSri(): string {
  const dir = createRequire(import.meta.url).resolve("swagger-ui-dist/package.json").replace(/package\.json$/, "");
  const sri = (file: string) => `sha384-${createHash("sha384").update(readFileSync(dir + file)).digest("base64")}`;
  const { version } = JSON.parse(readFileSync(`${dir}package.json`, "utf8")) as { version: string };
  return JSON.stringify({ version, "swagger-ui-bundle.js": sri("swagger-ui-bundle.js"), "swagger-ui.css": sri("swagger-ui.css") });
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  const workers = (extra: Record<string, string> = {}, miniflare: Record<string, unknown> = {}) =>
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        ...miniflare,
        bindings: {
          TEST_MIGRATIONS: migrations,
          TEST_DOCS_RENDERER: docsRendererSri(),
          BOOTSTRAP_API_KEY: "up_test_bootstrap_key_0123456789abcdefghijklmnopqrstuv",
          // Cheap scrypt (N,r,p) so the suite does not spend its time hashing passwords.
          PASSWORD_SCRYPT_PARAMS: "1024,8,1",
          LOGIN_MAX_FAILURES: "5",
          LOGIN_IP_MAX_FAILURES: "20",
          LOGIN_LOCKOUT_SECONDS: "60",
          // Browser apps test/browser.test.ts calls from (and "*", which must allow nothing).
          CORS_ORIGINS: "https://app.example.test, *, https://admin.example.test:8443/",
          // Webhooks: a test key for secrets at rest, retries 1 s apart (3 attempts), a short timeout.
          WEBHOOK_SECRET_KEY: "test-webhook-secret-key-0123456789abcdefghijklmnop",
          WEBHOOK_RETRY_SCHEDULE: "1,1",
          WEBHOOK_TIMEOUT_MS: "500",
          // Set by `npm run measure:hashes`: test/hash-cost.test.ts times imported hash formats.
          MEASURE_HASH_COST: process.env.MEASURE_HASH_COST ?? "",
          ...extra,
        },
      },
    });
  const shared = { setupFiles: ["./test/apply-migrations.ts"], testTimeout: 30_000, hookTimeout: 60_000 };

  return {
    test: {
      projects: [
        {
          plugins: [workers()],
          test: { name: "api", include: ["test/**/*.test.ts"], exclude: [...EXTERNAL_IDP_TESTS, ...INTEGRATION_TESTS, ...WEBHOOK_DEV_TESTS], ...shared },
        },
        {
          plugins: [
            workers(
              { LOGIN_LOCKOUT_SECONDS: "1" },
              {
                serviceBindings: { CONSUMER: "consumer-worker" },
                workers: [
                  {
                    name: "consumer-worker",
                    modules: true,
                    script: await buildConsumerWorker(),
                    compatibilityDate: "2026-04-01",
                    // The pool names the runner after the project: that is userplane here.
                    serviceBindings: { USERPLANE: { name: "vitest-pool-workers-runner-integration", entrypoint: "UserplaneRpc" } },
                  },
                ],
              },
            ),
          ],
          test: { name: "integration", include: INTEGRATION_TESTS, ...shared },
        },
        {
          // Fault injection: the enqueue after each write is dropped (as if the worker stopped right
          // after the commit), so only the sweep can deliver; the insecure-URL setting of dev; and no
          // WEBHOOK_SECRET_KEY, as under plain `wrangler dev`: secrets are sealed with the generated key.
          plugins: [workers({ WEBHOOK_TEST_DROP_ENQUEUE: "true", WEBHOOK_ALLOW_INSECURE_URLS: "true", WEBHOOK_SECRET_KEY: "" })],
          test: { name: "webhooks-dev", include: WEBHOOK_DEV_TESTS, ...shared },
        },
        {
          plugins: [
            workers({
              // Served by test/external-idp.test.ts's stand-in for the provider (see there).
              JWT_JWKS_URL: "https://idp.example.test/.well-known/jwks.json",
              JWT_ISSUER: "https://idp.example.test/",
              JWT_AUDIENCE: "userplane-api",
              JWT_TENANT_CLAIM: "org",
            }),
          ],
          test: { name: "external-idp", include: EXTERNAL_IDP_TESTS, ...shared },
        },
        { test: { name: "cli", environment: "node", include: ["test/cli/**/*.test.mjs"] } },
      ],
    },
  };
});
