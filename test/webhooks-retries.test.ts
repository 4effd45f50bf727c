import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY } from "./helpers";
import { createWebhook, deliveries, eventually, hang, hook, installReceiver } from "./webhooks-receiver";

beforeAll(installReceiver);

// vitest.config.ts: WEBHOOK_RETRY_SCHEDULE=1,1 (three attempts, 1 s apart), WEBHOOK_TIMEOUT_MS=500.
const asPlatform = (tenantId: string) => ({ token: PLATFORM_KEY, tenant: tenantId });
const endpointRow = (id: string) => env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").bind(id).first<Record<string, unknown>>();

describe("retries", () => {
  it("a 500 is retried after the schedule's delay with the same webhook-id, and a later 2xx succeeds", async () => {
    const { tenant } = await createTenant();
    let calls = 0;
    const h = hook(() => (++calls === 1 ? new Response("upstream broke", { status: 500 }) : new Response(null, { status: 204 })));
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "retry@example.test" });
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.status).toBe("succeeded"));
    const [d] = await deliveries(tenant.id, endpoint.id);
    expect(d!.attempts.map((a) => [a.status_code, a.error])).toEqual([
      [500, "Answered 500: upstream broke"],
      [204, null],
    ]);
    expect(Date.parse(d!.attempts[1]!.at) - Date.parse(d!.attempts[0]!.at)).toBeGreaterThanOrEqual(900);
    const ids = h.received().map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    expect(h.received()[0]!.headers["webhook-timestamp"]).not.toBe(undefined);
  });

  it("while pending, the delivery shows next_attempt_at; a timeout is a failure with no status code", async () => {
    const { tenant } = await createTenant();
    let calls = 0;
    const h = hook((req, signal) => (++calls === 1 ? hang(req, signal) : new Response("ok")));
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "slow@example.test" });
    await eventually(async () => {
      const [d] = await deliveries(tenant.id, endpoint.id);
      expect(d!.status).toBe("pending");
      expect(d!.attempts).toHaveLength(1);
      expect(Date.parse(d!.next_attempt_at!)).toBeGreaterThan(Date.parse(d!.attempts[0]!.at));
    });
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.status).toBe("succeeded"));
    const [d] = await deliveries(tenant.id, endpoint.id);
    expect(d!.attempts[0]).toEqual({ at: expect.any(String), status_code: null, error: "No answer within 500 ms", duration_ms: expect.any(Number) });
    expect(d!.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(450);
    expect(d!.attempts[1]!.status_code).toBe(200);
    expect(d!.next_attempt_at).toBeNull();
  });

  it("after the last delay the delivery is failed; a 3xx counts as a failure and is not followed", async () => {
    const { tenant } = await createTenant();
    const h = hook(() => new Response(null, { status: 302, headers: { Location: "https://hooks.example.test/elsewhere" } }));
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "redirect@example.test" });
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.status).toBe("failed"));
    const [d] = await deliveries(tenant.id, endpoint.id);
    expect(d!.attempts).toHaveLength(3);
    for (const a of d!.attempts) expect(a).toMatchObject({ status_code: 302, error: "Answered 302 (redirects are not followed)" });
    expect(d!.next_attempt_at).toBeNull();
    expect(h.received()).toHaveLength(3);
    expect((await call("GET", `/v1/webhooks/${endpoint.id}`, asPlatform(tenant.id))).body.enabled).toBe(true);
  });

  it("reads only the start of a receiver's answer for the log", async () => {
    const { tenant } = await createTenant();
    const h = hook(() => new Response("e".repeat(100_000), { status: 400 }));
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await call("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id));
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.attempts.length).toBeGreaterThan(0));
    const error = (await deliveries(tenant.id, endpoint.id))[0]!.attempts[0]!.error!;
    expect(error.startsWith("Answered 400: eeee")).toBe(true);
    expect(error.length).toBeLessThanOrEqual(1100);
  });
});

describe("POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry", () => {
  it("202 for a finished delivery: one more attempt of the same delivery, now; 409 while pending", async () => {
    const { tenant } = await createTenant();
    let healthy = false;
    const h = hook(() => new Response(null, { status: healthy ? 200 : 503 }));
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "manual@example.test" });
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]?.attempts.length).toBeGreaterThanOrEqual(1));
    const [pending] = await deliveries(tenant.id, endpoint.id);
    const path = `/v1/webhooks/${endpoint.id}/deliveries/${pending!.id}/retry`;
    if (pending!.status === "pending") await expectProblem(await api("POST", path, asPlatform(tenant.id)), 409, "delivery_pending");
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.status).toBe("failed"));

    healthy = true;
    const res = await call("POST", path, asPlatform(tenant.id));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: pending!.id, status: "pending", event_id: pending!.event_id });
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]!.status).toBe("succeeded"));
    const [done] = await deliveries(tenant.id, endpoint.id);
    expect(done!.attempts.map((a) => a.status_code)).toEqual([503, 503, 503, 200]);
    expect(new Set(h.received().map((r) => r.headers["webhook-id"]))).toEqual(new Set([pending!.event_id]));
    // A manual retry's failure is final: one attempt, no schedule.
    healthy = false;
    expect((await call("POST", path, asPlatform(tenant.id))).status).toBe(202);
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]).toMatchObject({ status: "failed", next_attempt_at: null }));
    expect((await deliveries(tenant.id, endpoint.id))[0]!.attempts).toHaveLength(5);
  });

  it("404 for an unknown delivery or one of another endpoint", async () => {
    const { tenant } = await createTenant();
    const a = await createWebhook(tenant.id, { url: hook().url });
    const b = await createWebhook(tenant.id, { url: hook().url });
    const test = await call("POST", `/v1/webhooks/${a.id}/test`, asPlatform(tenant.id));
    await expectProblem(await api("POST", `/v1/webhooks/${a.id}/deliveries/whd_nope/retry`, asPlatform(tenant.id)), 404, "not_found");
    await expectProblem(await api("POST", `/v1/webhooks/${b.id}/deliveries/${test.body.id}/retry`, asPlatform(tenant.id)), 404, "not_found");
  });
});

describe("GET /v1/webhooks/{id}/deliveries", () => {
  it("newest first, cursor paging", async () => {
    const { tenant } = await createTenant();
    const endpoint = await createWebhook(tenant.id, { url: hook().url });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await call("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id))).body.id);
    const first = await call("GET", `/v1/webhooks/${endpoint.id}/deliveries?limit=2`, asPlatform(tenant.id));
    expect(first.body.items.map((d: { id: string }) => d.id)).toEqual([ids[2], ids[1]]);
    const next = await call("GET", `/v1/webhooks/${endpoint.id}/deliveries?limit=2&cursor=${first.body.next_cursor}`, asPlatform(tenant.id));
    expect(next.body.items.map((d: { id: string }) => d.id)).toEqual([ids[0]]);
    expect(next.body.next_cursor).toBeNull();
    const back = await call("GET", `/v1/webhooks/${endpoint.id}/deliveries?limit=2&cursor=${next.body.previous_cursor}`, asPlatform(tenant.id));
    expect(back.body.items.map((d: { id: string }) => d.id)).toEqual([ids[2], ids[1]]);
    const page = await call("GET", `/v1/webhooks/${endpoint.id}/deliveries?page=2&page_size=2`, asPlatform(tenant.id));
    expect(page.body).toMatchObject({ total: 3, page: 2, items: [{ id: ids[0] }] });
    await expectProblem(await api("GET", `/v1/webhooks/${endpoint.id}/deliveries?limit=0`, asPlatform(tenant.id)), 422, "validation_failed");
  });
});

describe("disabled endpoints", () => {
  it("a disabled endpoint gets nothing, its pending retries stop, and events recorded meanwhile are not delivered later", async () => {
    const { tenant } = await createTenant();
    let up = false;
    const h = hook(() => new Response(null, { status: up ? 200 : 500 }));
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "before@example.test" });
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]?.attempts.length).toBe(1));
    const off = await call("PATCH", `/v1/webhooks/${endpoint.id}`, { ...asPlatform(tenant.id), body: { enabled: false } });
    expect(off.body.enabled).toBe(false);
    const [stopped] = await deliveries(tenant.id, endpoint.id);
    expect(stopped).toMatchObject({ status: "failed", next_attempt_at: null });
    const countBefore = h.received().length;

    const during = await createUser(tenant.id, { email: "during@example.test" });
    await expectProblem(await api("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id)), 409, "webhook_disabled");
    await expectProblem(await api("POST", `/v1/webhooks/${endpoint.id}/deliveries/${stopped!.id}/retry`, asPlatform(tenant.id)), 409, "webhook_disabled");

    up = true;
    await call("PATCH", `/v1/webhooks/${endpoint.id}`, { ...asPlatform(tenant.id), body: { enabled: true } });
    const after = await createUser(tenant.id, { email: "after@example.test" });
    await eventually(() => expect(h.received().some((r) => r.json.data.user_id === after.id)).toBe(true));
    // The sweep runs over everything past the cursor: still nothing for the event of the disabled time.
    await env.WEBHOOK_QUEUE.send({ kind: "dispatch" });
    const list = await deliveries(tenant.id, endpoint.id);
    expect(list).toHaveLength(2);
    expect(h.received().slice(countBefore).map((r) => r.json.data.user_id)).toEqual([after.id]);
    expect(h.received().some((r) => r.json.data.user_id === during.id)).toBe(false);
    expect((await deliveries(tenant.id, endpoint.id))[1]!.attempts).toHaveLength(1);
  });

  it("is disabled after its last 50 event deliveries all failed; test deliveries and manual retries aside; a success resets the count", async () => {
    const { tenant, ownerToken } = await createTenant();
    let mode: "fail" | "ok" = "fail";
    const h = hook(() => new Response(null, { status: mode === "ok" ? 200 : 500 }));
    const endpoint = await createWebhook(tenant.id, { url: h.url, events: ["user.created"] });
    const failedCount = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'failed' AND kind = 'event'").bind(endpoint.id).first<{ n: number }>())!.n;
    const create = (n: number, from: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => call("POST", "/v1/users", { token: ownerToken, body: { email: `f${from + i}@example.test` } })));

    // One success among the failures resets the streak.
    await create(3, 0);
    await eventually(async () => expect(await failedCount()).toBe(3), 20_000);
    expect((await endpointRow(endpoint.id))!.failure_streak).toBe(3);
    mode = "ok";
    await create(1, 100);
    await eventually(async () => expect((await endpointRow(endpoint.id))!.failure_streak).toBe(0));
    mode = "fail";

    await create(49, 200);
    await eventually(async () => expect(await failedCount()).toBe(52), 30_000);
    expect((await endpointRow(endpoint.id))!.failure_streak).toBe(49);
    // A failing test delivery and a failing manual retry do not count.
    const test = await call("POST", `/v1/webhooks/${endpoint.id}/test`, asPlatform(tenant.id));
    const [oneFailed] = (await deliveries(tenant.id, endpoint.id)).filter((d) => d.event_type === "user.created" && d.status === "failed");
    await call("POST", `/v1/webhooks/${endpoint.id}/deliveries/${oneFailed!.id}/retry`, asPlatform(tenant.id));
    await eventually(async () => {
      const list = await deliveries(tenant.id, endpoint.id);
      expect(list.find((d) => d.id === test.body.id)!.status).toBe("failed");
      expect(list.find((d) => d.id === oneFailed!.id)!.attempts).toHaveLength(4);
    }, 20_000);
    expect((await call("GET", `/v1/webhooks/${endpoint.id}`, asPlatform(tenant.id))).body.enabled).toBe(true);

    await create(1, 300);
    await eventually(async () => expect((await call("GET", `/v1/webhooks/${endpoint.id}`, asPlatform(tenant.id))).body.enabled).toBe(false), 20_000);
    const seen = h.received().length;
    await create(1, 400);
    await env.WEBHOOK_QUEUE.send({ kind: "dispatch" });
    await createUser(tenant.id, { email: "later@example.test" });
    expect(h.received().length).toBe(seen);
    expect((await deliveries(tenant.id, endpoint.id)).filter((d) => d.status === "pending")).toEqual([]);
  }, 90_000);
});
