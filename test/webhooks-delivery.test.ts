import { env, exports } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it } from "vitest";
import { countTrips } from "./d1-counter";
import { call, createTenant, createUser, idTimeMs, PLATFORM_KEY } from "./helpers";
import { idPattern } from "../src/lib/ids";
import { createWebhook, deliveries, eventually, hook, installReceiver } from "./webhooks-receiver";

beforeAll(installReceiver);

const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });

describe("what a receiver gets", () => {
  it("POST with the event as the body and the Standard Webhooks headers; the reference verification accepts it", async () => {
    const { tenant } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    const before = Math.floor(Date.now() / 1000);
    const user = await createUser(tenant.id, { email: "hook@example.test" });
    await eventually(() => expect(h.received().length).toBe(1));
    const [got] = h.received();
    expect(got!.headers["content-type"]).toBe("application/json");
    expect(Object.keys(got!.json)).toEqual(["id", "type", "created_at", "tenant_id", "data"]);
    expect(got!.json).toMatchObject({ id: expect.stringMatching(/^evt_/), type: "user.created", tenant_id: tenant.id, data: { user_id: user.id } });
    const feed = await call("GET", "/v1/events?type=user.created", asPlatform(tenant.id));
    const event = feed.body.items.find((e: { id: string }) => e.id === got!.json.id);
    expect(event).toEqual({ id: got!.json.id, type: "user.created", created_at: got!.json.created_at, data: got!.json.data });

    expect(got!.headers["webhook-id"]).toBe(got!.json.id);
    const ts = Number(got!.headers["webhook-timestamp"]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(got!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(endpoint.secret).verify(got!.body, got!.headers)).toEqual(got!.json);
    // And the check means something: another secret, or a changed body, is refused.
    const other = await createWebhook(tenant.id, { url: hook().url });
    expect(() => new Webhook(other.secret).verify(got!.body, got!.headers)).toThrow();
    expect(() => new Webhook(endpoint.secret).verify(got!.body.replace(user.id, "usr_forged"), got!.headers)).toThrow();

    await eventually(async () => {
      const [d] = await deliveries(tenant.id, endpoint.id);
      expect(d).toEqual({
        id: expect.stringMatching(/^whd_/),
        event_id: got!.json.id,
        event_type: "user.created",
        status: "succeeded",
        attempts: [{ at: expect.any(String), status_code: 200, error: null, duration_ms: expect.any(Number) }],
        next_attempt_at: null,
      });
    });
  });

  it("events recorded by every write path are pushed (user, password, sessions, deletion)", async () => {
    const { tenant, ownerToken } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    const user = await createUser(tenant.id, { email: "paths@example.test", password: "first-password-1" });
    await call("PATCH", `/v1/users/${user.id}`, { token: ownerToken, body: { first_name: "P" } });
    await call("POST", "/v1/auth/token", { body: { tenant: tenant.slug, email: "paths@example.test", password: "first-password-1" } });
    const reset = await call("POST", `/v1/users/${user.id}/password-resets`, { token: ownerToken, body: {} });
    await call("POST", "/v1/password-resets/confirm", { body: { reset_token: reset.body.reset_token, password: "second-password-2" } });
    await call("DELETE", `/v1/users/${user.id}`, { token: ownerToken });
    const expected = ["user.created", "user.updated", "user.password_changed", "session.revoked", "user.deleted"];
    await eventually(() => expect(new Set(h.received().map((r) => r.json.type))).toEqual(new Set(expected)));
    // Exactly the feed's events since the endpoint was created (the owner's user.created is older).
    const feed = await call("GET", "/v1/events?limit=100", { token: ownerToken });
    const since = feed.body.items.filter((e: { created_at: string }) => e.created_at >= endpoint.created_at);
    expect(since.length).toBe(feed.body.items.length - 1);
    await eventually(() => expect(h.received().map((r) => r.json.id).sort()).toEqual(since.map((e: { id: string }) => e.id).sort()));
    // Every id, of events and of deliveries alike, has the id shape and sorts by the time it was made.
    const made = (id: string, at: string) => Math.abs(idTimeMs(id) - Date.parse(at));
    for (const e of since as { id: string; created_at: string }[]) {
      expect(e.id).toMatch(idPattern("evt"));
      expect(made(e.id, e.created_at), `${e.id} of ${e.created_at}`).toBeLessThan(5000);
    }
    const rows = await env.DB.prepare("SELECT id, created_at FROM webhook_deliveries WHERE endpoint_id = ?").bind(endpoint.id).all<{ id: string; created_at: string }>();
    expect(rows.results).toHaveLength(since.length);
    for (const d of rows.results) {
      expect(d.id).toMatch(idPattern("whd"));
      expect(made(d.id, d.created_at), `${d.id} of ${d.created_at}`).toBeLessThan(5000);
    }
  });

  it("the events filter: only the named types are sent; * sends all", async () => {
    const { tenant, ownerToken } = await createTenant();
    const deletedOnly = hook();
    const all = hook();
    await createWebhook(tenant.id, { url: deletedOnly.url, events: ["user.deleted"] });
    await createWebhook(tenant.id, { url: all.url });
    const user = await createUser(tenant.id, { email: "filter@example.test" });
    await call("DELETE", `/v1/users/${user.id}`, { token: ownerToken });
    await eventually(() => expect(all.received().map((r) => r.json.type).sort()).toEqual(["user.created", "user.deleted"]));
    await eventually(() => expect(deletedOnly.received().map((r) => r.json.type)).toEqual(["user.deleted"]));
    // A PATCH of events applies to the events recorded after it.
    const changed = hook();
    const endpoint = await createWebhook(tenant.id, { url: changed.url, events: ["user.deleted"] });
    await call("PATCH", `/v1/webhooks/${endpoint.id}`, { ...asPlatform(tenant.id), body: { events: ["user.created"] } });
    await createUser(tenant.id, { email: "filter2@example.test" });
    await eventually(() => expect(changed.received().map((r) => r.json.type)).toEqual(["user.created"]));
  });

  it("tenant isolation: an endpoint gets its own tenant's events only", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const ha = hook();
    const hb = hook();
    await createWebhook(a.tenant.id, { url: ha.url });
    await createWebhook(b.tenant.id, { url: hb.url });
    const inA = await createUser(a.tenant.id, { email: "a@example.test" });
    const inB = await createUser(b.tenant.id, { email: "b@example.test" });
    await eventually(() => expect(ha.received().length).toBe(1));
    await eventually(() => expect(hb.received().length).toBe(1));
    expect(ha.received()[0]!.json).toMatchObject({ tenant_id: a.tenant.id, data: { user_id: inA.id } });
    expect(hb.received()[0]!.json).toMatchObject({ tenant_id: b.tenant.id, data: { user_id: inB.id } });
  });

  it("events recorded before an endpoint existed are not sent to it", async () => {
    const { tenant } = await createTenant();
    const early = await createUser(tenant.id, { email: "early@example.test" });
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    const late = await createUser(tenant.id, { email: "late@example.test" });
    await eventually(() => expect(h.received().length).toBe(1));
    expect(h.received()[0]!.json.data.user_id).toBe(late.id);
    await exports.default.fetch("http://userplane.test/healthz"); // another request: nothing more arrives
    expect((await deliveries(tenant.id, endpoint.id)).map((d) => d.event_id)).not.toContain(early.id);
  });
});

describe("at least once, never twice for one fan-out", () => {
  it("a duplicate dispatch never makes a second delivery; each (event, endpoint) pair has one delivery with the event id", async () => {
    const { tenant } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "dup@example.test" });
    await eventually(() => expect(h.received().length).toBe(1));
    for (let i = 0; i < 3; i++) await env.WEBHOOK_QUEUE.send({ kind: "dispatch" });
    await env.WEBHOOK_QUEUE.send({ kind: "deliver", id: (await deliveries(tenant.id, endpoint.id))[0]!.id });
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ?").bind(endpoint.id).first<{ n: number }>();
    expect(rows!.n).toBe(1);
    const list = await deliveries(tenant.id, endpoint.id);
    expect(list).toHaveLength(1);
    expect(list[0]!.event_id).toBe(h.received()[0]!.headers["webhook-id"]);
  });

  it("a write that records an event costs no more D1 round trips with webhooks than without", async () => {
    const { tenant, ownerToken } = await createTenant();
    await call("GET", "/v1/users/me", { token: ownerToken });
    const req = (email: string) =>
      new Request("http://userplane.test/v1/users", {
        method: "POST",
        headers: { Authorization: `Bearer ${ownerToken}`, "Content-Type": "application/json" },
        body: JSON.stringify({ email }),
      });
    const without = await countTrips(req("rt1@example.test"));
    await createWebhook(tenant.id, { url: hook().url });
    const withHook = await countTrips(req("rt2@example.test"));
    expect(without.res.status).toBe(201);
    expect(withHook.res.status).toBe(201);
    expect(withHook.trips, withHook.log.join(" | ")).toBe(without.trips);
    expect(withHook.log.join(" ")).not.toContain("webhook");
  });
});

describe("POST /v1/webhooks/{id}/test", () => {
  it("202: a webhook.test delivery with data {} to this endpoint alone, whatever its events; in its deliveries, not in the feed", async () => {
    const { tenant } = await createTenant();
    const h = hook();
    const other = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url, events: ["user.deleted"] });
    await createWebhook(tenant.id, { url: other.url });
    const res = await call("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^whd_/), event_type: "webhook.test", status: "pending", attempts: [] });
    expect(res.headers.get("ETag"), "a single object carries an ETag").toMatch(/^"[^"]+"$/);
    await eventually(() => expect(h.received().length).toBe(1));
    const [got] = h.received();
    expect(got!.json).toEqual({ id: res.body.event_id, type: "webhook.test", created_at: expect.any(String), tenant_id: tenant.id, data: {} });
    expect(new Webhook(endpoint.secret).verify(got!.body, got!.headers)).toEqual(got!.json);
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]).toMatchObject({ id: res.body.id, status: "succeeded" }));
    const feed = await call("GET", "/v1/events?limit=100", asPlatform(tenant.id));
    expect(feed.body.items.map((e: { type: string }) => e.type)).not.toContain("webhook.test");
    expect(other.received()).toEqual([]);
  });
});

describe("secret rotation", () => {
  it("for 24 hours both secrets sign (two signatures, each verifies); after that only the new one", async () => {
    const { tenant } = await createTenant();
    const h = hook();
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    const rotated = await call("POST", `/v1/webhooks/${endpoint.id}/rotate-secret`, asPlatform(tenant.id));
    await call("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id));
    await eventually(() => expect(h.received().length).toBe(1));
    const [first] = h.received();
    expect(first!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(new Webhook(endpoint.secret).verify(first!.body, first!.headers)).toEqual(first!.json);
    expect(new Webhook(rotated.body.secret).verify(first!.body, first!.headers)).toEqual(first!.json);

    // A third secret: the oldest stops signing at once (never more than two).
    const third = await call("POST", `/v1/webhooks/${endpoint.id}/rotate-secret`, asPlatform(tenant.id));
    await call("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id));
    await eventually(() => expect(h.received().length).toBe(2));
    const second = h.received()[1]!;
    expect(second.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(() => new Webhook(endpoint.secret).verify(second.body, second.headers)).toThrow();
    expect(new Webhook(rotated.body.secret).verify(second.body, second.headers)).toEqual(second.json);
    expect(new Webhook(third.body.secret).verify(second.body, second.headers)).toEqual(second.json);

    // 24 hours on (the expiry moved into the past), the previous secret signs no more.
    await env.DB.prepare("UPDATE webhook_endpoints SET previous_secret_expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), endpoint.id)
      .run();
    await call("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id));
    await eventually(() => expect(h.received().length).toBe(3));
    const last = h.received()[2]!;
    expect(last.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(new Webhook(third.body.secret).verify(last.body, last.headers)).toEqual(last.json);
    expect(() => new Webhook(rotated.body.secret).verify(last.body, last.headers)).toThrow();
  });
});
