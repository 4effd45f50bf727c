import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, signIn, tokenFor } from "./helpers";

const PASSWORD = "first-password-1";
const NEW_PASSWORD = "second-password-2";

afterEach(() => {
  vi.useRealTimers();
});

function advanceSeconds(seconds: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + seconds * 1000);
}

let ipCounter = 0;
const freshIp = () => `192.0.2.${++ipCounter}`;

async function tenantWithUser(extra: Record<string, unknown> = {}) {
  const t = await createTenant();
  const email = `lin@${t.tenant.slug}.test`;
  const user = await createUser(t.tenant.id, { email, password: PASSWORD, ...extra });
  return { ...t, user, email };
}

/** A token issued the admin way (the owner holds users:write). */
async function adminToken(t: { tenant: { id: string }; ownerToken: string }, userId: string, body: Record<string, unknown> = {}) {
  const res = await call("POST", `/v1/users/${userId}/password-resets`, { token: t.ownerToken, body });
  expect(res.status).toBe(201);
  return res.body.reset_token as string;
}

const confirm = (reset_token: string, password = NEW_PASSWORD) =>
  api("POST", "/v1/password-resets/confirm", { body: { reset_token, password } });

const requestReset = (tenant: string, email: string, headers: Record<string, string> = {}) =>
  api("POST", "/v1/password-resets", { body: { tenant, email }, headers });

async function resetEvents(ownerToken: string) {
  const res = await call("GET", "/v1/events?type=password_reset.requested", { token: ownerToken });
  expect(res.status).toBe(200);
  return res.body.items as { data: { user_id: string; email: string; reset_token: string; expires_at: string } }[];
}

describe("POST /v1/password-resets", () => {
  it("answers the same 202 whether or not the email can get a token", async () => {
    const t = await tenantWithUser();
    const slug = t.tenant.slug;
    await createUser(t.tenant.id, { email: `off@${slug}.test`, password: "off-password-1", is_active: false });
    // Active, but created without a password (e.g. signs in through an identity provider).
    await createUser(t.tenant.id, { email: `nopw@${slug}.test`, external_id: "idp-subject-1" });
    const cases = [
      await requestReset(t.tenant.id, t.email),
      await requestReset(t.tenant.slug, `nobody@${slug}.test`),
      await requestReset("no-such-tenant", t.email),
      await requestReset(t.tenant.id, `off@${slug}.test`),
      await requestReset(t.tenant.id, `nopw@${slug}.test`),
    ];
    const bodies = await Promise.all(cases.map((r) => r.text()));
    expect(cases.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toEqual({ status: "accepted", message: expect.any(String) });
    // Only the real, active user got a token, delivered through the event feed.
    const events = await resetEvents(t.ownerToken);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({
      user_id: t.user.id,
      email: t.email,
      reset_token: expect.stringMatching(new RegExp(`^rst_${t.tenant.id}\\.[A-Za-z0-9_-]{43}$`)),
      expires_at: expect.any(String),
    });
  });

  it("delivers a token that sets the password, and issues no second one while it is active", async () => {
    const t = await tenantWithUser();
    expect((await requestReset(t.tenant.id, t.email.toUpperCase())).status).toBe(202);
    expect((await requestReset(t.tenant.id, t.email)).status).toBe(202);
    const events = await resetEvents(t.ownerToken);
    expect(events).toHaveLength(1);
    expect((await confirm(events[0]!.data.reset_token)).status).toBe(204);
    expect((await signIn(t.tenant.id, { email: t.email }, NEW_PASSWORD)).status).toBe(200);
    // Once used, a new request issues a new token.
    await requestReset(t.tenant.id, t.email);
    expect(await resetEvents(t.ownerToken)).toHaveLength(2);
  });

  it("gives managed users no token", async () => {
    const t = await tenantWithUser();
    const kid = await call("POST", "/v1/users/me/managed-users", { token: t.ownerToken, body: { first_name: "Kid", last_name: "Doe" } });
    await env.DB.prepare("UPDATE users SET email = ? WHERE id = ?").bind(`kid@${t.tenant.slug}.test`, kid.body.id).run();
    expect((await requestReset(t.tenant.id, `kid@${t.tenant.slug}.test`)).status).toBe(202);
    expect(await resetEvents(t.ownerToken)).toHaveLength(0);
  });

  it("is rate-limited per email: 429 with Retry-After after 5 requests", async () => {
    const t = await tenantWithUser();
    for (let i = 0; i < 5; i++) expect((await requestReset(t.tenant.id, `someone@${t.tenant.slug}.test`)).status).toBe(202);
    const limited = await requestReset(t.tenant.id, `SOMEONE@${t.tenant.slug}.test`);
    await expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another email is not affected.
    expect((await requestReset(t.tenant.id, t.email)).status).toBe(202);
  });

  it("is rate-limited per client address (LOGIN_IP_MAX_FAILURES)", async () => {
    const t = await tenantWithUser();
    const ip = freshIp();
    for (let i = 0; i < 20; i++) {
      expect((await requestReset(t.tenant.id, `u${i}@${t.tenant.slug}.test`, { "CF-Connecting-IP": ip })).status).toBe(202);
    }
    await expectProblem(await requestReset(t.tenant.id, t.email, { "CF-Connecting-IP": ip }), 429, "rate_limited");
    expect((await requestReset(t.tenant.id, t.email, { "CF-Connecting-IP": freshIp() })).status).toBe(202);
  });

  it("validates its body (422)", async () => {
    await expectProblem(await api("POST", "/v1/password-resets", { body: { tenant: "x" } }), 422, "validation_failed");
    await expectProblem(
      await api("POST", "/v1/password-resets", { body: { tenant: "x", email: "a@b.test", extra: 1 } }),
      422,
      "validation_failed",
    );
  });
});

describe("POST /v1/password-resets/confirm", () => {
  it("sets the password, clears a temporary password and revokes every session", async () => {
    const t = await tenantWithUser({ temporary_password: true });
    const session = await signIn(t.tenant.id, { email: t.email }, PASSWORD);
    const other = await tokenFor(t.tenant.id, t.user.id);
    const token = await adminToken(t, t.user.id);
    expect((await confirm(token)).status).toBe(204);

    await expectProblem(await api("GET", "/v1/users/me", { token: session.body.access_token }), 401, "unauthorized");
    await expectProblem(await api("GET", "/v1/users/me", { token: other }), 401, "unauthorized");
    await expectProblem(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: session.body.refresh_token } }),
      401,
      "invalid_refresh_token",
    );
    expect((await signIn(t.tenant.id, { email: t.email }, PASSWORD)).status).toBe(401);
    const fresh = await signIn(t.tenant.id, { email: t.email }, NEW_PASSWORD);
    expect(fresh.status).toBe(200);
    expect(fresh.body.password_change_required).toBe(false);

    const events = await call("GET", "/v1/events", { token: t.ownerToken });
    const mine = events.body.items.filter((e: { data: { user_id?: string } }) => e.data.user_id === t.user.id);
    expect(mine.map((e: { type: string }) => e.type)).toEqual([
      "user.created",
      "session.revoked",
      "session.revoked",
      "user.password_changed",
    ]);
    expect(mine[3].data).toMatchObject({ via: "reset" });
  });

  it("lets exactly one of 20 concurrent confirms of one token succeed", async () => {
    const t = await tenantWithUser();
    const token = await adminToken(t, t.user.id);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => confirm(token, `concurrent-pass-${i}`)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    for (const r of results.filter((r) => r.status === 400)) await expectProblem(r, 400, "invalid_reset_token");
    // The winner's password is the one in place.
    const winner = statuses.indexOf(204);
    expect((await signIn(t.tenant.id, { email: t.email }, `concurrent-pass-${winner}`)).status).toBe(200);
    const events = await call("GET", "/v1/events?type=user.password_changed", { token: t.ownerToken });
    expect(events.body.items).toHaveLength(1);
  });

  it("refuses used, revoked, expired, unknown and malformed tokens alike with 400 invalid_reset_token", async () => {
    const t = await tenantWithUser();
    const used = await adminToken(t, t.user.id);
    expect((await confirm(used)).status).toBe(204);
    const revoked = await adminToken(t, t.user.id);
    await adminToken(t, t.user.id, { force: true });
    const expiring = await adminToken(t, (await createUser(t.tenant.id, { email: `exp@${t.tenant.slug}.test` })).id, { ttl_seconds: 60 });
    const unknown = `rst_${t.tenant.id}.${"A".repeat(43)}`;
    const otherTenant = `rst_ten_${"0".repeat(26)}.${used.split(".")[1]}`;

    const bodies: string[] = [];
    for (const token of [used, revoked, unknown, otherTenant, "rst_garbage", "x".repeat(100)]) {
      const res = await confirm(token);
      await expectProblem(res.clone(), 400, "invalid_reset_token");
      bodies.push(await res.text());
    }
    expect(new Set(bodies).size).toBe(1);

    advanceSeconds(61);
    await expectProblem(await confirm(expiring), 400, "invalid_reset_token");
  });

  it("validates the new password (422) without spending the token", async () => {
    const t = await tenantWithUser();
    const token = await adminToken(t, t.user.id);
    const short = await confirm(token, "short");
    expect((await expectProblem(short, 422, "validation_failed")).errors![0]!.path).toBe("password");
    expect((await confirm(token)).status).toBe(204);
  });

  it("leaves the token spent when the user was deleted meanwhile", async () => {
    const t = await tenantWithUser();
    const token = await adminToken(t, t.user.id);
    await env.DB.prepare("UPDATE users SET deleted_at = ? WHERE id = ?").bind(new Date().toISOString(), t.user.id).run();
    await expectProblem(await confirm(token), 400, "invalid_reset_token");
    await expectProblem(await confirm(token), 400, "invalid_reset_token");
  });

  it("lifts the account's sign-in lock-out", async () => {
    const t = await tenantWithUser();
    for (let i = 0; i < 5; i++) await signIn(t.tenant.id, { email: t.email }, "wrong");
    expect((await signIn(t.tenant.id, { email: t.email }, PASSWORD)).status).toBe(429);
    expect((await confirm(await adminToken(t, t.user.id))).status).toBe(204);
    expect((await signIn(t.tenant.id, { email: t.email }, NEW_PASSWORD)).status).toBe(200);
  });
});

describe("ResetTokens Durable Object", () => {
  const stubOf = (tenantId: string) => env.RESET_TOKENS.get(env.RESET_TOKENS.idFromName(tenantId));
  const stored = (tenantId: string) =>
    runInDurableObject(stubOf(tenantId), (_instance, state) =>
      state.storage.sql.exec<{ hash: string; user_id: string }>("SELECT hash, user_id FROM tokens").toArray(),
    );

  it("stores tokens only as SHA-256 hashes", async () => {
    const t = await tenantWithUser();
    const token = await adminToken(t, t.user.id);
    const rows = await stored(t.tenant.id);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(rows).toEqual([{ hash: hex, user_id: t.user.id }]);
  });

  it("purges expired tokens on its alarm", async () => {
    const t = await tenantWithUser();
    const second = await createUser(t.tenant.id, { email: `two@${t.tenant.slug}.test` });
    await adminToken(t, t.user.id, { ttl_seconds: 60 });
    await adminToken(t, second.id, { ttl_seconds: 3600 });
    expect(await stored(t.tenant.id)).toHaveLength(2);
    advanceSeconds(61);
    expect(await runDurableObjectAlarm(stubOf(t.tenant.id))).toBe(true);
    expect((await stored(t.tenant.id)).map((r) => r.user_id)).toEqual([second.id]);
    // Re-armed for the next expiry.
    const next = await runInDurableObject(stubOf(t.tenant.id), (_i, state) => state.storage.getAlarm());
    expect(next).toEqual(expect.any(Number));
  });

  it("purgeUsers and purgeAll remove tokens for the cascading deletes", async () => {
    const t = await tenantWithUser();
    const second = await createUser(t.tenant.id, { email: `two@${t.tenant.slug}.test` });
    const third = await createUser(t.tenant.id, { email: `three@${t.tenant.slug}.test` });
    const firstToken = await adminToken(t, t.user.id);
    await adminToken(t, second.id);
    await adminToken(t, third.id);
    expect(await stubOf(t.tenant.id).purgeUsers([t.user.id, second.id])).toBe(2);
    expect((await stored(t.tenant.id)).map((r) => r.user_id)).toEqual([third.id]);
    await expectProblem(await confirm(firstToken), 400, "invalid_reset_token");
    await stubOf(t.tenant.id).purgeAll();
    expect(await stored(t.tenant.id)).toEqual([]);
    await stubOf(t.tenant.id).purgeAll();
  });

  it("release undoes a claim whose password write failed, so the token works again", async () => {
    const t = await tenantWithUser();
    const token = await adminToken(t, t.user.id);
    const stub = stubOf(t.tenant.id);
    const claim = await stub.claim(token, Date.now());
    expect(claim).toMatchObject({ userId: t.user.id });
    expect(await stub.claim(token, Date.now())).toBeNull();
    expect(await stub.release(token, claim!.claimedAt)).toBe(true);
    expect((await confirm(token)).status).toBe(204);
  });

  it("refuses a token with one character changed, whatever credentials come along", async () => {
    const t = await tenantWithUser();
    const token = await adminToken(t, t.user.id);
    const res = await api("POST", "/v1/password-resets/confirm", {
      token: PLATFORM_KEY,
      body: { reset_token: token.replace(/.$/, (c) => (c === "A" ? "B" : "A")), password: NEW_PASSWORD },
    });
    await expectProblem(res, 400, "invalid_reset_token");
  });
});
