// Bundles examples/consumer-worker into one ES module, as wrangler would (its own esbuild, its
// conditions), so the test pool (vitest.config.ts) and the bench can run it as an auxiliary
// Worker next to userplane. Takes ~100 ms; nothing is written to disk.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The example Worker's code, bundled (`userplane/hono` resolved through package.json exports). */
export async function buildConsumerWorker() {
  const rootRequire = createRequire(join(root, "package.json"));
  const wranglerRequire = createRequire(rootRequire.resolve("wrangler/package.json"));
  const esbuild = wranglerRequire("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(root, "examples", "consumer-worker", "src", "index.ts")],
    absWorkingDir: root,
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}
