import { Validator, type Schema } from "@cfworker/json-schema";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createTenant, PLATFORM_KEY } from "./helpers";
import { createWebhook, deliveries, eventually, hook, installReceiver } from "./webhooks-receiver";

beforeAll(installReceiver);

type Doc = Record<string, any>;
const validatorFor = (doc: Doc, schema: unknown) => new Validator({ ...(schema as object), components: doc.components } as Schema, "2020-12", false);

describe("OpenAPI: webhooks", () => {
  it("describes the payload as a top-level webhook with the Standard Webhooks headers, and real deliveries match it", async () => {
    const doc = (await call<Doc>("GET", "/openapi.json")).body;
    const post = doc.webhooks?.event?.post;
    expect(post).toBeTruthy();
    expect(post.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      "header:webhook-id",
      "header:webhook-timestamp",
      "header:webhook-signature",
    ]);
    const payload = validatorFor(doc, post.requestBody.content["application/json"].schema);

    const { tenant } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await call("POST", `/v1/webhooks/${endpoint.id}/test`, { token: PLATFORM_KEY, tenant: tenant.id });
    await call("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenant.id, body: { email: "doc@example.test" } });
    await eventually(() => expect(h.received().length).toBe(2));
    for (const r of h.received()) expect(payload.validate(r.json).errors).toEqual([]);
    expect(payload.validate({ ...h.received()[0]!.json, type: "user.exploded" }).valid).toBe(false);
  });

  it("route answers validate against their documented schemas", async () => {
    const doc = (await call<Doc>("GET", "/openapi.json")).body;
    const check = (path: string, method: string, status: string, body: unknown) => {
      const schema = doc.paths[path][method].responses[status].content["application/json"].schema;
      expect(validatorFor(doc, schema).validate(body).errors, `${method} ${path}`).toEqual([]);
    };
    const { tenant } = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: tenant.id };
    const created = await call("POST", "/v1/webhooks", { ...opts, body: { url: hook().url, description: "d" } });
    check("/v1/webhooks", "post", "201", created.body);
    check("/v1/webhooks", "get", "200", (await call("GET", "/v1/webhooks", opts)).body);
    check("/v1/webhooks/{id}", "get", "200", (await call("GET", `/v1/webhooks/${created.body.id}`, opts)).body);
    check("/v1/webhooks/{id}", "patch", "200", (await call("PATCH", `/v1/webhooks/${created.body.id}`, { ...opts, body: { description: null } })).body);
    check("/v1/webhooks/{id}/rotate-secret", "post", "200", (await call("POST", `/v1/webhooks/${created.body.id}/rotate-secret`, opts)).body);
    check("/v1/webhooks/{id}/test", "post", "202", (await call("POST", `/v1/webhooks/${created.body.id}/test`, opts)).body);
    await eventually(async () => expect((await deliveries(tenant.id, created.body.id))[0]!.status).toBe("succeeded"));
    check("/v1/webhooks/{id}/deliveries", "get", "200", (await call("GET", `/v1/webhooks/${created.body.id}/deliveries`, opts)).body);
  });
});
