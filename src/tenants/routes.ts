import { Hono, type Context } from "hono";
import type { AppEnv } from "../env";
import type { Principal } from "../auth/principal";
import { forbidden } from "../lib/errors";
import { listOf } from "../lib/pagination";
import { jsonBody, pathParams, queryParams } from "../lib/validate";
import { idempotent } from "../middleware/idempotency";
import { describe } from "../openapi/registry";
import { deleteTenant, resumeTenantDeletion } from "../deletion/service";
import { presentTenant, type TenantRow } from "./repo";
import { CreateTenantBody, ListTenantsQuery, PatchTenantBody, Tenant, TenantIdParam } from "./schemas";
import { createTenant, getTenant, listTenants, patchTenant, tenantEtag } from "./service";
import { expectedVersion } from "../lib/etag";

/** Tenants: managed by platform principals; a tenant principal may read its own tenant. */
export const tenants = new Hono<AppEnv>();
const tags = ["Tenants"];

function requirePlatform(p: Principal): void {
  if (p.kind !== "platform") throw forbidden("Managing tenants needs a platform API key.");
}

function respondTenant(c: Context<AppEnv>, t: TenantRow, status: 200 | 201 = 200) {
  c.header("ETag", tenantEtag(t));
  return c.json(presentTenant(t), status);
}

tenants.post(
  "/",
  describe({
    summary: "Create a tenant",
    description: "Platform principals only. The body may name a first owner, created with the owner role. 409 when the slug is taken (case-insensitively).",
    tags,
    responses: { 201: { description: "The tenant", schema: Tenant } },
  }),
  idempotent(),
  jsonBody(CreateTenantBody),
  async (c) => {
    requirePlatform(c.get("principal"));
    return respondTenant(c, await createTenant(c, c.get("principal"), c.req.valid("json")), 201);
  },
);

tenants.get(
  "/",
  describe({
    summary: "List tenants",
    tags,
    responses: {
      200: {
        description: "A page of tenants",
        schema: listOf(Tenant),
      },
    },
  }),
  queryParams(ListTenantsQuery),
  async (c) => {
    requirePlatform(c.get("principal"));
    return c.json(await listTenants(c, c.req.valid("query")));
  },
);

tenants.get(
  "/:id",
  describe({ summary: "Get a tenant (by id or slug)", tags, responses: { 200: { description: "The tenant", schema: Tenant } } }),
  pathParams(TenantIdParam),
  async (c) => respondTenant(c, await getTenant(c, c.get("principal"), c.req.valid("param").id)),
);

tenants.patch(
  "/:id",
  describe({
    summary: "Update a tenant's slug or name",
    description: "If-Match honoured: a stale tag is a 412 and changes nothing. Without If-Match the last writer wins (the new values do not depend on the old). A slug taken by another tenant (case-insensitively) is a 409.",
    tags,
    headers: ["If-Match"],
    responses: { 200: { description: "The tenant", schema: Tenant } },
  }),
  pathParams(TenantIdParam),
  jsonBody(PatchTenantBody),
  async (c) => {
    requirePlatform(c.get("principal"));
    return respondTenant(c, await patchTenant(c, c.get("principal"), c.req.valid("param").id, c.req.valid("json")));
  },
);

tenants.delete(
  "/:id",
  describe({
    summary: "Delete a tenant and everything in it",
    description: "Marks the tenant deleted (it is gone for every caller at once), then removes its users and all their data in bounded batches; a retry or the coordinator's alarm finishes an interrupted delete. Records a platform-level tenant.deleted event.",
    tags,
    headers: ["If-Match"],
    responses: { 204: { description: "Deleted" } },
  }),
  pathParams(TenantIdParam),
  async (c) => {
    requirePlatform(c.get("principal"));
    const { id } = c.req.valid("param");
    if (await resumeTenantDeletion(c, id)) return c.body(null, 204);
    const tenant = await getTenant(c, c.get("principal"), id);
    // Checked against the read here, and again in the delete's own statement.
    await deleteTenant(c.env, tenant.id, expectedVersion(c, "ten", tenant.id, tenant.version));
    return c.body(null, 204);
  },
);
