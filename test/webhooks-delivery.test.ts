import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it } from "vitest";
import { createTenant, createUser } from "./helpers";
import { createWebhook, deliveries, eventually, hook, installReceiver } from "./webhooks-receiver";

beforeAll(installReceiver);

describe("delivery", () => {
  it("an event recorded after the endpoint was created is POSTed to it, signed per Standard Webhooks", async () => {
    const { tenant } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    const user = await createUser(tenant.id, { email: "hook@example.test" });
    await eventually(() => expect(h.received().length).toBe(1));
    const [got] = h.received();
    expect(got!.json).toMatchObject({ type: "user.created", tenant_id: tenant.id, data: { user_id: user.id } });
    const verified = new Webhook(endpoint.secret).verify(got!.body, got!.headers);
    expect(verified).toEqual(got!.json);
    expect(got!.headers["webhook-id"]).toBe(got!.json.id);
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.status).toBe("succeeded"));
  });
});
