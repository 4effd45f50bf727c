import { env } from "cloudflare:workers";
import { createScheduledController } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { WEBHOOK_SWEEP_CRON } from "../src/webhooks/sweep";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY } from "./helpers";
import { createWebhook, deliveries, eventually, hook, installReceiver } from "./webhooks-receiver";

/**
 * The "webhooks-dev" project (vitest.config.ts): WEBHOOK_TEST_DROP_ENQUEUE=true drops the enqueue
 * after every request, as if the worker stopped right after the change committed, and
 * WEBHOOK_ALLOW_INSECURE_URLS=true as under `npm run dev`, and no WEBHOOK_SECRET_KEY (signing
 * secrets are sealed with the key the key store generates).
 */
beforeAll(installReceiver);

/** Runs the cron the way Cloudflare does: the worker's scheduled() with the sweep's cron. */
async function sweep(at = Date.now()) {
  await worker.scheduled(createScheduledController({ cron: WEBHOOK_SWEEP_CRON, scheduledTime: at }), env);
}

const countDeliveries = async (endpointId: string, kind = "event") =>
  (await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ? AND kind = ?").bind(endpointId, kind).first<{ n: number }>())!.n;

describe("the sweep (enqueue killed)", () => {
  it("events whose enqueue was lost are not delivered by themselves; the sweep delivers each of them", async () => {
    const { tenant, ownerToken } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await createUser(tenant.id, { email: `lost${i}@example.test` }));
    await call("DELETE", `/v1/users/${users[0]!.id}`, { token: ownerToken });
    // The queue itself works (a test delivery is enqueued directly) …
    await call("POST", `/v1/webhooks/${endpoint.id}/test`, { token: ownerToken });
    await eventually(() => expect(h.received().map((r) => r.json.type)).toEqual(["webhook.test"]));
    // Sealed and opened with the generated key: signed with the endpoint's own secret.
    const signed = h.received()[0]!;
    expect(new Webhook(endpoint.secret).verify(signed.body, signed.headers)).toEqual(signed.json);
    // … but the events' dispatch was lost with the "dead" worker: nothing fanned out, nothing sent.
    expect(await countDeliveries(endpoint.id)).toBe(0);

    await sweep();
    await eventually(() => expect(h.received().length).toBe(5));
    const got = h.received().slice(1);
    expect(got.map((r) => r.json.type).sort()).toEqual(["user.created", "user.created", "user.created", "user.deleted"]);
    expect(got.filter((r) => r.json.type === "user.created").map((r) => r.json.data.user_id).sort()).toEqual(users.map((u) => u.id).sort());
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id)).every((d) => d.status === "succeeded")).toBe(true));
    // A second sweep finds nothing new: each (event, endpoint) pair has one delivery.
    await sweep();
    expect(await countDeliveries(endpoint.id)).toBe(4);
  });

  it("a pending delivery whose message was lost is sent again, with the same webhook-id; one not yet due is left alone", async () => {
    const { tenant } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "requeue@example.test" });
    await sweep();
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]?.status).toBe("succeeded"));
    const [d] = await deliveries(tenant.id, endpoint.id);
    // As if the consumer died after recording a failure and before enqueueing the retry.
    const overdue = new Date(Date.now() - 5 * 60_000).toISOString();
    await env.DB.prepare("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ? WHERE id = ?").bind(overdue, d!.id).run();
    await sweep();
    await eventually(() => expect(h.received().length).toBe(2));
    expect(h.received()[1]!.headers["webhook-id"]).toBe(h.received()[0]!.headers["webhook-id"]);
    expect(h.received()[1]!.headers["webhook-id"]).toBe(d!.event_id);
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.status).toBe("succeeded"));

    const later = new Date(Date.now() + 3600_000).toISOString();
    await env.DB.prepare("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ? WHERE id = ?").bind(later, d!.id).run();
    await sweep();
    await call("POST", `/v1/webhooks/${endpoint.id}/test`, { token: PLATFORM_KEY, tenant: tenant.id });
    await eventually(() => expect(h.received().map((r) => r.json.type)).toContain("webhook.test"));
    expect(h.received().filter((r) => r.json.type === "user.created")).toHaveLength(2);
  });
});

describe("WEBHOOK_ALLOW_INSECURE_URLS=true", () => {
  it("accepts http and localhost / loopback, still refuses private addresses and user-info", async () => {
    const { ownerToken } = await createTenant();
    for (const url of ["http://127.0.0.1:8817/hook", "http://localhost:8817/hook", "http://[::1]:8817/hook", "http://example.com/hook"]) {
      expect((await call("POST", "/v1/webhooks", { token: ownerToken, body: { url } })).status, url).toBe(201);
    }
    for (const url of ["http://10.0.0.1/hook", "http://192.168.0.10:8817/hook", "http://169.254.169.254/", "http://u:p@localhost/", "ftp://localhost/"]) {
      await expectProblem(await api("POST", "/v1/webhooks", { token: ownerToken, body: { url } }), 422, "invalid_webhook_url");
    }
  });
});
