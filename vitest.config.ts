import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * Tests run inside workerd with the worker's own config (wrangler.toml): same D1 binding, Durable
 * Objects and compatibility date. The committed SQL migrations are handed to the runtime as
 * TEST_MIGRATIONS and applied by test/apply-migrations.ts; D1 storage is isolated per test file.
 *
 * Two projects: "api" (everything) and "external-idp", the same worker with an external identity
 * provider configured (JWT_JWKS_URL & co.), which changes how foreign tokens are treated.
 * A third, "cli", runs the migration CLI's own tests (scripts/cli: converters, readers, command
 * line) in Node, where the CLI runs; it talks to the worker only over HTTP.
 */
const EXTERNAL_IDP_TESTS = ["test/external-idp.test.ts"];

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  const workers = (extra: Record<string, string> = {}) =>
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          BOOTSTRAP_API_KEY: "up_test_bootstrap_key_0123456789abcdefghijklmnopqrstuv",
          // Cheap scrypt (N,r,p) so the suite does not spend its time hashing passwords.
          PASSWORD_SCRYPT_PARAMS: "1024,8,1",
          LOGIN_MAX_FAILURES: "5",
          LOGIN_IP_MAX_FAILURES: "20",
          LOGIN_LOCKOUT_SECONDS: "60",
          ...extra,
        },
      },
    });
  const shared = { setupFiles: ["./test/apply-migrations.ts"], testTimeout: 30_000, hookTimeout: 60_000 };

  return {
    test: {
      projects: [
        { plugins: [workers()], test: { name: "api", include: ["test/**/*.test.ts"], exclude: EXTERNAL_IDP_TESTS, ...shared } },
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
