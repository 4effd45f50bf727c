import type { D1Migration } from "cloudflare:test";
import type { Bindings } from "../src/env";

declare global {
  namespace Cloudflare {
    /** `env` from "cloudflare:workers" inside tests: the worker's bindings plus test-only ones. */
    interface Env extends Bindings {
      /** SQL migrations read from ./migrations by vitest.config.ts. */
      TEST_MIGRATIONS: D1Migration[];
      /** `{ version, <file>: "sha384-…" }` of the installed swagger-ui-dist (vitest.config.ts). */
      TEST_DOCS_RENDERER: string;
      /** examples/consumer-worker, in the "integration" project (vitest.config.ts). */
      CONSUMER: Fetcher;
    }

    /** Types `exports` from "cloudflare:workers" (`exports.default.fetch(...)`). */
    interface GlobalProps {
      mainModule: typeof import("../src/index");
      durableNamespaces: "TenantCoordinator" | "KeyStore" | "ResetTokens" | "Throttle";
    }
  }
}

export {};
