import type { Hono } from "hono";
import { z } from "zod";
import { errorRegistry } from "../lib/errors";
import { describedWebhooks, docOf, type RouteDoc } from "./registry";
import { BOOKMARK_HEADER } from "../db/bookmark";
import { SESSION_START } from "../middleware/db-session";
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS } from "../middleware/cors";

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

const ProblemSchema = {
  type: "object",
  description: "RFC 9457 problem details.",
  required: ["type", "title", "status", "detail", "code"],
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", enum: Object.keys(errorRegistry) },
    errors: {
      type: "array",
      items: {
        type: "object",
        required: ["path", "message", "code"],
        properties: { path: { type: "string" }, message: { type: "string" }, code: { type: "string" } },
      },
    },
  },
};

type JsonObject = Record<string, unknown>;

/** `/v1/users/me` → `V1UsersMe`: separators dropped, the character after each upper-cased. */
const camelCase = (text: string) => text.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ""));

/**
 * Shared schemas of the document. zod puts the definitions a schema reuses (named schemas such as
 * `Tenant`, recursive ones such as a JSON value) under the schema's own `$defs` and refers to them
 * as `#/$defs/…`; embedded in the OpenAPI document those pointers would resolve against the
 * document root, where nothing is. They are moved to `components.schemas` (identical groups
 * once) and every `$ref` is rewritten to point there.
 */
class SchemaComponents {
  readonly schemas: JsonObject = {};
  private readonly groups = new Map<string, Map<string, string>>();

  hoist(schema: JsonObject): JsonObject {
    const defs = schema.$defs as Record<string, JsonObject> | undefined;
    if (!defs) return schema;
    const { $defs: _moved, ...rest } = schema;
    const key = JSON.stringify(defs);
    let names = this.groups.get(key);
    if (!names) {
      names = new Map();
      for (const local of Object.keys(defs)) names.set(local, this.freeName(local.startsWith("__") ? "Schema" : local));
      for (const [local, def] of Object.entries(defs)) this.schemas[names.get(local)!] = rewriteRefs(def, names);
      this.groups.set(key, names);
    }
    return rewriteRefs(rest, names) as JsonObject;
  }

  private freeName(base: string): string {
    if (!(base in this.schemas)) return base;
    let n = 2;
    while (`${base}${n}` in this.schemas) n++;
    return `${base}${n}`;
  }
}

function rewriteRefs(node: unknown, names: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, names));
  if (typeof node !== "object" || node === null) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    const local = k === "$ref" && typeof v === "string" && v.startsWith("#/$defs/") ? names.get(v.slice("#/$defs/".length)) : undefined;
    out[k] = local ? `#/components/schemas/${local}` : rewriteRefs(v, names);
  }
  return out;
}

function jsonSchema(components: SchemaComponents, schema: z.ZodType, io: "input" | "output") {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" });
  return components.hoist(rest);
}

/** Path and query parameters from an object schema, one OpenAPI parameter per key. */
function parameters(components: SchemaComponents, schema: z.ZodType | undefined, location: "path" | "query") {
  if (!schema) return [];
  const js = jsonSchema(components, schema, "input") as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, prop]) => {
    const { description, ...propSchema } = prop;
    return {
      name,
      in: location,
      required: location === "path" || (js.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: propSchema,
    };
  });
}

const headerParameter = {
  "Idempotency-Key": {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description:
      "1–255 printable characters. A retry with the same key and body (compared as JSON) within 24 hours replays the first answer without creating anything again; another body gets 422 idempotency_key_reused. Only answers that created something are kept: after a 4xx the key is free for a corrected request. Secrets shown once (an API key, a reset token) are left out of a replay.",
    schema: { type: "string", minLength: 1, maxLength: 255 },
  },
  "If-Match": {
    name: "If-Match",
    in: "header",
    required: false,
    description: "The ETag you read; a stale tag gets 412 precondition_failed and changes nothing.",
    schema: { type: "string" },
  },
} as const;

/** `X-Userplane-Bookmark` on a request: what it does, and where the session starts without it. */
function bookmarkParameter(method: string) {
  const start =
    method === "GET"
      ? `Without one the session starts "${SESSION_START.read}": any replica may answer, and it may be behind the primary by the replication lag.`
      : `This operation writes, so its session starts "${SESSION_START.write}" (the primary is at least as new as any bookmark); the bookmark is still checked.`;
  return {
    name: BOOKMARK_HEADER,
    in: "header",
    required: false,
    description: `A bookmark this service returned (read-your-writes across requests): the request reads a state at least as new as the one it names. One this deployment did not issue (malformed, another deployment's, or naming no state of this database) is 422 validation_failed naming the header, before anything runs. An empty header is none. ${start}`,
    schema: { type: "string" },
  };
}

const bookmarkResponseHeader = {
  description:
    "The D1 session's latest bookmark (opaque), on every /v1 answer that read or wrote the database, errors included. Send it back to read at least this state.",
  schema: { type: "string" },
};

/**
 * The OpenAPI 3.1 document, generated from the app's own route table and the zod schemas its
 * validators use, so a route cannot exist undocumented or be documented differently from what
 * it checks.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function openApiDocument(app: Hono<any>) {
  const operations = new Map<string, Partial<RouteDoc> & { method: string; path: string }>();
  for (const route of app.routes) {
    if (!METHODS.has(route.method)) continue;
    const key = `${route.method} ${route.path}`;
    const op = operations.get(key) ?? { method: route.method, path: route.path };
    const doc = docOf(route.handler);
    if (doc) {
      const headers = [...(op.headers ?? []), ...(doc.headers ?? [])];
      Object.assign(op, doc, { headers });
    }
    operations.set(key, op);
  }

  const components = new SchemaComponents();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations.values()) {
    const path = op.path.replace(/:(\w+)/g, "{$1}");
    const pathParamNames = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const declaredPathParams = parameters(components, op.param, "path");
    const params = [
      ...pathParamNames.map(
        (name) => declaredPathParams.find((p) => p.name === name) ?? { name, in: "path", required: true, schema: { type: "string" } },
      ),
      ...parameters(components, op.query, "query"),
      ...(op.headers ?? []).map((h) => headerParameter[h]),
      ...(op.path.startsWith("/v1/") ? [bookmarkParameter(op.method)] : []),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(op.responses ?? { 200: { description: "OK" } })) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { [r.contentType ?? "application/json"]: { schema: jsonSchema(components, r.schema, "output") } } } : {}),
        ...(r.headers
          ? { headers: Object.fromEntries(Object.entries(r.headers).map(([name, description]) => [name, { description, schema: { type: "string" } }])) }
          : {}),
      };
    }
    responses.default = {
      description: "A problem (RFC 9457).",
      content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
    };
    if (op.path.startsWith("/v1/")) {
      for (const r of Object.values(responses) as JsonObject[]) r.headers = { ...(r.headers as JsonObject | undefined), [BOOKMARK_HEADER]: bookmarkResponseHeader };
    }
    paths[path] ??= {};
    paths[path][op.method.toLowerCase()] = {
      operationId: `${op.method.toLowerCase()}${camelCase(path.replace(/[{}]/g, ""))}`,
      summary: op.summary ?? `${op.method} ${path}`,
      ...(op.description ? { description: op.description } : {}),
      tags: op.tags ?? [],
      security: op.security === "public" ? [] : [{ bearer: [] }, { cookie: [] }],
      ...(params.length ? { parameters: params } : {}),
      ...(op.json
        ? {
            requestBody: {
              required: true,
              content: {
                "application/json": { schema: jsonSchema(components, op.json, "input") },
                ...(op.method === "PATCH" ? { "application/merge-patch+json": { schema: jsonSchema(components, op.json, "input") } } : {}),
              },
            },
          }
        : {}),
      responses,
    };
  }

  const webhooks: Record<string, unknown> = {};
  for (const [name, hook] of describedWebhooks()) {
    webhooks[name] = {
      post: {
        operationId: `webhook${camelCase(`-${name}`)}`,
        summary: hook.summary,
        description: hook.description,
        tags: ["Webhooks"],
        parameters: Object.entries(hook.headers).map(([header, description]) => ({
          name: header,
          in: "header",
          required: true,
          description,
          schema: { type: "string" },
        })),
        requestBody: { required: true, content: { "application/json": { schema: jsonSchema(components, hook.payload, "output") } } },
        responses: {
          "2XX": { description: "Received. Anything else (3xx included), or no answer within 15 s, is retried." },
        },
      },
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "userplane",
      version: "1.0.0",
      description:
        "Multi-tenant user management API. Request bodies are strict (unknown fields are 422), at most 64 KiB (413; 5 MiB for POST /v1/users/import) and 64 levels deep (422), JSON only (415), and malformed JSON is 400. A 422 names every bad field of the request, path, query and body together. Every response carries X-Request-Id. Errors are RFC 9457 problem details with a stable `code`. Who is calling is settled before the request is judged: an ended session is 401 and a temporary-password token 403 password_change_required, whatever else is wrong with the request.\n\n" +
        `Reading from replicas: every request runs in a D1 session. Reads (GET) start "${SESSION_START.read}" (a replica may answer) or at the ${BOOKMARK_HEADER} sent; writes (POST, PUT, PATCH, DELETE) start "${SESSION_START.write}". Every /v1 answer that read or wrote the database carries ${BOOKMARK_HEADER}; sending it back reads a state at least as new (read-your-writes). Without it a read may be stale by the replication lag, and a revoked session or key, or a deactivated or deleted user, may still be accepted for reads until the replica has caught up; writes check on the primary.\n\n` +
        `Browsers: CORS answers only the origins in CORS_ORIGINS: preflights (OPTIONS) get 204 with Access-Control-Allow-Methods "${CORS_ALLOWED_METHODS}" and Access-Control-Allow-Headers "${CORS_ALLOWED_HEADERS}"; every answer to those origins, errors included, names the origin in Access-Control-Allow-Origin (never *), exposes "${CORS_EXPOSED_HEADERS}", and never carries Access-Control-Allow-Credentials. Other origins get no CORS headers. A POST, PUT, PATCH or DELETE authenticated by the token cookie must come from the service's own origin or a listed one (Origin; without it Sec-Fetch-Site must be same-origin, else the Referer's origin must be allowed; with none of them it is refused), else 403 csrf_failed and nothing changes. Requests authenticated by an Authorization header are not affected.`,
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An access token (JWT) or an API key (up_…)." },
        cookie: {
          type: "apiKey",
          in: "cookie",
          name: "token",
          description:
            "An access token in the `token` cookie, for the console on the service's own origin. Unsafe methods need an allowed origin (the service's own or one in CORS_ORIGINS), else 403 csrf_failed.",
        },
      },
      schemas: { Problem: ProblemSchema, ...components.schemas },
    },
    paths,
    ...(Object.keys(webhooks).length ? { webhooks } : {}),
  };
}
