import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * Tests run inside workerd with the worker's own config (wrangler.toml): same D1 binding, Durable
 * Objects and compatibility date. The committed SQL migrations are handed to the runtime as
 * TEST_MIGRATIONS and applied by test/apply-migrations.ts; D1 storage is isolated per test file.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");

  return {
    plugins: [
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
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
