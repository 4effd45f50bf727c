import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { createApp } from "../src/app";
import { docOf } from "../src/openapi/registry";
import { api, call, createTenant, expectProblem, PLATFORM_KEY } from "./helpers";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
type Schemas = { param?: z.ZodType; query?: z.ZodType; json?: z.ZodType };

/** Every route of the app with the schemas its validators check (from the route list itself). */
function routesWithSchemas() {
  const routes = new Map<string, { method: string; path: string; schemas: Schemas }>();
  for (const r of createApp().routes) {
    if (!METHODS.includes(r.method)) continue;
    const key = `${r.method} ${r.path}`;
    const entry = routes.get(key) ?? { method: r.method, path: r.path, schemas: {} };
    const doc = docOf(r.handler);
    for (const target of ["param", "query", "json"] as const) if (doc?.[target]) entry.schemas[target] = doc[target];
    routes.set(key, entry);
  }
  return [...routes.values()];
}

const shapeOf = (schema: z.ZodType) => (schema as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};

/** For each field of the schema, the first candidate value the field itself refuses. */
function badValues<T>(schema: z.ZodType, candidates: T[]): Record<string, T> {
  const bad: Record<string, T> = {};
  for (const [key, field] of Object.entries(shapeOf(schema))) {
    const value = candidates.find((v) => !field.safeParse(v).success);
    if (value !== undefined) bad[key] = value;
  }
  return bad;
}

const PARAM_CANDIDATES = ["x".repeat(300), "not a name!"];
const QUERY_CANDIDATES = ["0", "no_such_field", "x".repeat(3000), "~"];
const BODY_CANDIDATES: unknown[] = [12345, "not-valid", { nested: true }];

describe("every bad field at once", () => {
  it("?limit=0&sort=no_such_field names limit and sort", async () => {
    const { ownerToken } = await createTenant();
    const res = await api("GET", "/v1/users?limit=0&sort=no_such_field", { token: ownerToken });
    const problem = await expectProblem(res, 422, "validation_failed");
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(["limit", "sort"]);
    expect(problem.errors!.find((e) => e.path === "sort")!.code).toBe("invalid_sort");
  });

  it("a bad path, query and body in one request are named together, and nothing changes", async () => {
    const { ownerToken } = await createTenant();
    const sessions = await api("GET", `/v1/users/${"x".repeat(65)}/sessions?limit=0`, { token: ownerToken });
    expect((await expectProblem(sessions, 422, "validation_failed")).errors!.map((e) => e.path).sort()).toEqual(["id", "limit"]);
    const before = await call("GET", "/v1/roles?limit=100", { token: ownerToken });
    const patch = await api("PATCH", `/v1/roles/${encodeURIComponent("bad name!")}`, {
      token: ownerToken,
      body: { description: 7, permissions: "x", surprise: 1 },
    });
    const paths = (await expectProblem(patch, 422, "validation_failed")).errors!.map((e) => e.path).sort();
    expect(paths).toEqual(["description", "name", "permissions", "surprise"]);
    expect((await call("GET", "/v1/roles?limit=100", { token: ownerToken })).body).toEqual(before.body);
  });

  it("walks every route: bad path, query and body fields are all named in one 422", async () => {
    const { tenant } = await createTenant();
    const routes = routesWithSchemas().filter((r) => Object.keys(r.schemas).length > 0);
    expect(routes.length).toBeGreaterThan(15);
    const checked: string[] = [];
    for (const { method, path, schemas } of routes) {
      const expected: string[] = [];
      let url = path;
      const params = schemas.param ? badValues(schemas.param, PARAM_CANDIDATES) : {};
      for (const name of [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!)) {
        const value = params[name] ?? "x";
        url = url.replace(`:${name}`, encodeURIComponent(value));
        if (params[name] !== undefined) expected.push(name);
      }
      const query = schemas.query ? badValues(schemas.query, QUERY_CANDIDATES) : {};
      expected.push(...Object.keys(query));
      if (Object.keys(query).length > 0) url += `?${new URLSearchParams(query)}`;
      let body: Record<string, unknown> | undefined;
      if (schemas.json) {
        body = { ...badValues(schemas.json, BODY_CANDIDATES), no_such_field: true };
        expected.push(...Object.keys(body));
      }
      const where = `${method} ${path}`;
      expect(expected.length, `${where}: no bad value found for its schemas`).toBeGreaterThan(0);
      const res = await api(method, url, { token: PLATFORM_KEY, tenant: tenant.id, body });
      const problem = await expectProblem(res, 422, "validation_failed").catch((e: Error) => {
        throw new Error(`${where}: ${e.message}`);
      });
      const named = new Set(problem.errors!.map((e) => e.path));
      expect([...expected].filter((p) => !named.has(p)), where).toEqual([]);
      checked.push(where);
    }
    // Routes with a path and a body, and with a path and a query, were among them.
    expect(checked).toEqual(expect.arrayContaining(["PATCH /v1/users/:id", "GET /v1/users/:id/sessions", "POST /v1/users/:id/password-resets"]));
  });
});
