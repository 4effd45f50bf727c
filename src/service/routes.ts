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
      await c.var.db.run(sql`SELECT 1`);
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

service.get(
  "/docs",
  describe({
    summary: "Interactive API reference",
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
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>`),
);
