import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Setup files run before every test file, each of which gets its own isolated D1 storage;
// applyD1Migrations records what it applied, so re-running it is a no-op.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
