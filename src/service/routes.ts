import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import { publishedKeys } from "../auth/tokens";
import { ApiError } from "../lib/errors";
import { describe } from "../openapi/registry";

/** Health, the JWKS and the API reference page; the OpenAPI document is mounted by the app. */
export const service = new Hono<AppEnv>();

service.get(
  "/healthz",
  describe({
    summary: "Health check",
    description: "200 when the database answers, 503 otherwise.",
    tags: ["Service"],
    security: "public",
    responses: { 200: { description: "Healthy", schema: z.object({ status: z.literal("ok") }) } },
  }),
  async (c) => {
    try {
      await c.get("db").run(sql`SELECT 1`);
    } catch {
      throw new ApiError("service_unavailable", "The database does not answer.");
    }
    return c.json({ status: "ok" as const });
  },
);

service.get(
  "/.well-known/jwks.json",
  describe({
    summary: "Public signing keys",
    description: "The public halves of the keys that sign userplane's access tokens, retired ones included until their tokens expire.",
    tags: ["Service"],
    security: "public",
    responses: { 200: { description: "A JWK set", schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
  }),
  async (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json({ keys: await publishedKeys(c.env) });
  },
);

/**
 * The reference page's renderer: Swagger UI from jsDelivr at a pinned version, each file under
 * Subresource Integrity, so a changed or compromised CDN file is refused by the browser. The
 * hashes are of the npm package's files (byte-identical on jsDelivr); test/docs-page.test.ts
 * recomputes them from the installed swagger-ui-dist of the same version.
 */
export const DOCS_RENDERER = {
  version: "5.35.0",
  script: { file: "swagger-ui-bundle.js", integrity: "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9" },
  stylesheet: { file: "swagger-ui.css", integrity: "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I" },
} as const;

const rendererUrl = (file: string) => `https://cdn.jsdelivr.net/npm/swagger-ui-dist@${DOCS_RENDERER.version}/${file}`;

service.get(
  "/docs",
  describe({
    summary: "Interactive API reference",
    description: `Swagger UI ${DOCS_RENDERER.version} rendering /openapi.json, loaded from jsDelivr at that pinned version with Subresource Integrity.`,
    tags: ["Service"],
    security: "public",
    responses: { 200: { description: "An HTML page rendering /openapi.json" } },
  }),
  (c) =>
    c.html(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>userplane API reference</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="stylesheet" href="${rendererUrl(DOCS_RENDERER.stylesheet.file)}" integrity="${DOCS_RENDERER.stylesheet.integrity}" crossorigin="anonymous" referrerpolicy="no-referrer" />
  </head>
  <body>
    <div id="api-reference"></div>
    <script src="${rendererUrl(DOCS_RENDERER.script.file)}" integrity="${DOCS_RENDERER.script.integrity}" crossorigin="anonymous" referrerpolicy="no-referrer"></script>
    <script>
      SwaggerUIBundle({ url: "/openapi.json", dom_id: "#api-reference", deepLinking: true });
    </script>
  </body>
</html>`),
);
