import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

interface FeedEvent {
  id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

const feed = (token: string, query = "", tenant?: string) => call("GET", `/v1/events${query}`, { token, tenant });

describe("GET /v1/events", () => {
  it("lists the tenant's events in commit order with id, type, created_at and data", async () => {
    const t = await createTenant();
    const a = await createUser(t.tenant.id, { email: `a@${t.tenant.slug}.test` });
    const b = await createUser(t.tenant.id, { email: `b@${t.tenant.slug}.test` });
    const res = await feed(t.ownerToken);
    expect(res.status).toBe(200);
    const items = res.body.items as FeedEvent[];
    expect(items.map((e) => e.type)).toEqual(["user.created", "user.created", "user.created"]);
    expect(items.slice(1).map((e) => e.data.user_id)).toEqual([a.id, b.id]);
    expect(items[0]).toEqual({ id: expect.stringMatching(/^evt_/), type: "user.created", created_at: expect.any(String), data: expect.any(Object) });
    expect(Object.keys(items[0]!).sort()).toEqual(["created_at", "data", "id", "type"]);
  });

  it("pages with a cursor that keeps the order, and a resume_cursor that picks up new events", async () => {
    const t = await createTenant();
    for (let i = 0; i < 4; i++) await createUser(t.tenant.id, { email: `u${i}@${t.tenant.slug}.test` });
    const seen: string[] = [];
    let cursor: string | null = null;
    let resume: string | null = null;
    do {
      const page: { body: { items: FeedEvent[]; next_cursor: string | null; resume_cursor: string | null } } = await feed(
        t.ownerToken,
        `?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.body.items.map((e) => e.id));
      cursor = page.body.next_cursor;
      resume = page.body.resume_cursor;
    } while (cursor);
    const all = (await feed(t.ownerToken)).body.items.map((e: FeedEvent) => e.id);
    expect(seen).toEqual(all);
    expect(seen).toHaveLength(5);

    // Caught up: polling with resume_cursor returns nothing, and then only what is new.
    const idle = await feed(t.ownerToken, `?cursor=${resume}`);
    expect(idle.body.items).toEqual([]);
    expect(idle.body.resume_cursor).toBe(resume);
    const late = await createUser(t.tenant.id, { email: `late@${t.tenant.slug}.test` });
    const fresh = await feed(t.ownerToken, `?cursor=${resume}`);
    expect(fresh.body.items.map((e: FeedEvent) => e.data.user_id)).toEqual([late.id]);
  });

  it("filters by type, and refuses unknown types and foreign cursors with 422", async () => {
    const t = await createTenant();
    const u = await userWithToken(t.tenant.id, { email: `u@${t.tenant.slug}.test` });
    await api("POST", "/v1/auth/logout", { token: u.token });
    const revoked = await feed(t.ownerToken, "?type=session.revoked");
    expect(revoked.body.items.map((e: FeedEvent) => e.type)).toEqual(["session.revoked"]);
    await expectProblem(await api("GET", "/v1/events?type=user.exploded", { token: t.ownerToken }), 422, "validation_failed");
    const page = await feed(t.ownerToken, "?limit=1");
    await expectProblem(
      await api("GET", `/v1/events?type=session.revoked&cursor=${page.body.next_cursor}`, { token: t.ownerToken }),
      422,
      "invalid_cursor",
    );
    await expectProblem(await api("GET", "/v1/events?limit=0", { token: t.ownerToken }), 422, "validation_failed");
    await expectProblem(await api("GET", "/v1/events?limit=1&page=1", { token: t.ownerToken }), 422, "validation_failed");
  });

  it("supports page mode with a total", async () => {
    const t = await createTenant();
    for (let i = 0; i < 3; i++) await createUser(t.tenant.id, { email: `p${i}@${t.tenant.slug}.test` });
    const res = await feed(t.ownerToken, "?page=2&page_size=3");
    expect(res.body).toMatchObject({ total: 4, page: 2, page_size: 3 });
    expect(res.body.items).toHaveLength(1);
  });

  it("needs events:read: admins and owners read, members get 403, no credentials 401", async () => {
    const t = await createTenant();
    const admin = await userWithToken(t.tenant.id, { email: `admin@${t.tenant.slug}.test`, roles: ["admin"] });
    const member = await userWithToken(t.tenant.id, { email: `member@${t.tenant.slug}.test` });
    expect((await feed(admin.token)).status).toBe(200);
    await expectProblem(await api("GET", "/v1/events", { token: member.token }), 403, "forbidden");
    await expectProblem(await api("GET", "/v1/events"), 401, "unauthorized");
  });

  it("shows a tenant only its own events, whatever it names", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const bUser = await createUser(b.tenant.id, { email: `b@${b.tenant.slug}.test` });
    const aFeed = await call("GET", `/v1/events?tenant=${b.tenant.id}`, { token: a.ownerToken, headers: { "X-Tenant": b.tenant.id } });
    expect(aFeed.status).toBe(200);
    expect(aFeed.body.items.map((e: FeedEvent) => e.data.user_id)).not.toContain(bUser.id);
    expect(aFeed.body.items.map((e: FeedEvent) => e.data.user_id)).toEqual([a.owner.id]);
  });

  it("gives platform keys the tenant they name, and without one the platform-level events", async () => {
    const t = await createTenant();
    const doomed = await createTenant();
    expect((await api("DELETE", `/v1/tenants/${doomed.tenant.id}`, { token: PLATFORM_KEY })).status).toBe(204);

    const tenantFeed = await feed(PLATFORM_KEY, "", t.tenant.id);
    expect(tenantFeed.body.items.map((e: FeedEvent) => e.type)).toEqual(["user.created"]);
    const platform = await feed(PLATFORM_KEY, "?type=tenant.deleted");
    expect(platform.status).toBe(200);
    expect(platform.body.items.map((e: FeedEvent) => e.data.tenant_id)).toContain(doomed.tenant.id);
    const all = await feed(PLATFORM_KEY, "?limit=5000");
    expect(all.body.items.every((e: FeedEvent) => !String(e.type).startsWith("user."))).toBe(true);
  });
});
