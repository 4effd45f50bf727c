import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashPassword, hashStats } from "../src/sign-in/password";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, signIn } from "./helpers";

const PASSWORD = "correct-horse-1";
/** LOGIN_MAX_FAILURES, LOGIN_IP_MAX_FAILURES and LOGIN_LOCKOUT_SECONDS of the test config. */
const MAX_FAILURES = 5;
const IP_MAX_FAILURES = 20;
const LOCKOUT_SECONDS = 60;

let ipCounter = 0;
/** A client address no other test uses, so address counters never leak between tests. */
const freshIp = () => `198.51.100.${++ipCounter}`;

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock the worker and its Durable Objects read (same isolate) forward. */
function advanceSeconds(seconds: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + seconds * 1000);
}

async function tenantWithUser(extra: Record<string, unknown> = {}) {
  const t = await createTenant();
  const email = `ada@${t.tenant.slug}.test`;
  const user = await createUser(t.tenant.id, { email, username: `ada-${t.tenant.slug}`, password: PASSWORD, ...extra });
  return { ...t, user, email };
}

describe("POST /v1/auth/token", () => {
  it("signs in by email or username, case-insensitively, with the tenant's id or slug", async () => {
    const { tenant, user, email } = await tenantWithUser();
    const byEmail = await signIn(tenant.id, { email: email.toUpperCase() }, PASSWORD);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 900,
      refresh_token: expect.stringMatching(/^rt_[A-Za-z0-9_-]{43}$/),
      password_change_required: false,
    });
    const byUsername = await signIn(tenant.slug.toUpperCase(), { username: user.username.toUpperCase() }, PASSWORD);
    expect(byUsername.status).toBe(200);

    const me = await call("GET", "/v1/users/me", { token: byEmail.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(user.id);
    expect(me.body.last_login_at).toEqual(expect.any(String));
  });

  it("issues an access token carrying sub, tid and sid, and a session row with address and agent", async () => {
    const { tenant, user, email } = await tenantWithUser();
    const res = await signIn(tenant.id, { email }, PASSWORD, { "CF-Connecting-IP": "203.0.113.9", "User-Agent": "probe/1.0" });
    const [, payload] = res.body.access_token.split(".");
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    expect(claims).toMatchObject({ sub: user.id, tid: tenant.id, sid: expect.stringMatching(/^ses_/) });
    expect(claims.exp - claims.iat).toBe(900);
    const row = await env.DB.prepare("SELECT user_id, ip, user_agent FROM sessions WHERE id = ?").bind(claims.sid).first();
    expect(row).toEqual({ user_id: user.id, ip: "203.0.113.9", user_agent: "probe/1.0" });
  });

  it("stores the refresh token only as a SHA-256 hash", async () => {
    const { tenant, email } = await tenantWithUser();
    const { body } = await signIn(tenant.id, { email }, PASSWORD);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body.refresh_token));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const rows = await env.DB.prepare("SELECT hash FROM refresh_tokens WHERE hash = ? OR hash = ?").bind(hex, body.refresh_token).all();
    expect(rows.results).toEqual([{ hash: hex }]);
  });

  it("answers 422 unless exactly one of email and username is given, and for unknown fields", async () => {
    const { tenant, user, email } = await tenantWithUser();
    const both = await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, email, username: user.username, password: PASSWORD } });
    const problem = await expectProblem(both, 422, "validation_failed");
    expect(problem.errors!.map((e) => e.path).sort()).toEqual(["email", "username"]);
    const neither = await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, password: PASSWORD } });
    await expectProblem(neither, 422, "validation_failed");
    const extra = await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, email, password: PASSWORD, remember: true } });
    expect((await expectProblem(extra, 422, "validation_failed")).errors).toEqual([
      expect.objectContaining({ path: "remember", code: "unrecognized_key" }),
    ]);
    // Named with the body's other bad fields, in the one 422.
    const all = await api("POST", "/v1/auth/token", { body: { tenant: "", email, username: "u", password: 5 } });
    expect((await expectProblem(all, 422, "validation_failed")).errors!.map((e) => e.path).sort()).toEqual(["email", "password", "tenant", "username"]);
  });

  it("gives every failed sign-in cause the byte-identical 401 body", async () => {
    const { tenant, email, ownerToken } = await tenantWithUser();
    const slug = tenant.slug;
    await createUser(tenant.id, { email: `off@${slug}.test`, password: PASSWORD, is_active: false });
    await createUser(tenant.id, { email: `nopass@${slug}.test` });
    const doomed = await createUser(tenant.id, { email: `doomed@${slug}.test`, password: PASSWORD });
    await env.DB.prepare("UPDATE users SET deleted_at = ? WHERE id = ?").bind(new Date().toISOString(), doomed.id).run();
    const managed = await call("POST", "/v1/users/me/managed-users", { token: ownerToken, body: { first_name: "Kid", last_name: "Doe" } });
    expect(managed.status).toBe(201);
    // A managed user with a password hash forced in: still refused.
    await env.DB.prepare("UPDATE users SET email = ?, password_hash = ? WHERE id = ?")
      .bind(`kid@${slug}.test`, await hashPassword(PASSWORD, { logN: 10, r: 8, p: 1 }), managed.body.id)
      .run();

    // Compared as raw text: the bodies must be identical byte for byte, not merely equal as JSON.
    const raw = async (body: Record<string, unknown>) => {
      const res = await api("POST", "/v1/auth/token", { body });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
      return res.text();
    };
    const t = tenant.id;
    const bodies = [
      await raw({ tenant: "no-such-tenant", email, password: PASSWORD }),
      await raw({ tenant: t, email: `ghost@${slug}.test`, password: PASSWORD }),
      await raw({ tenant: t, username: "ghost", password: PASSWORD }),
      await raw({ tenant: t, email, password: "wrong-password" }),
      await raw({ tenant: t, email: `off@${slug}.test`, password: PASSWORD }),
      await raw({ tenant: t, email: `nopass@${slug}.test`, password: PASSWORD }),
      await raw({ tenant: t, email: `doomed@${slug}.test`, password: PASSWORD }),
      await raw({ tenant: t, email: `kid@${slug}.test`, password: PASSWORD }),
    ];
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ status: 401, code: "invalid_credentials" });
  });

  it("runs one scrypt on the unknown-user path, exactly like the wrong-password path", async () => {
    const { tenant, email } = await tenantWithUser();
    const before = hashStats.derivations;
    const unknown = await signIn(tenant.id, { email: `nobody@${tenant.slug}.test` }, PASSWORD);
    expect(unknown.status).toBe(401);
    expect(hashStats.derivations - before).toBe(1);

    const mid = hashStats.derivations;
    const wrong = await signIn(tenant.id, { email }, "wrong-password");
    expect(wrong.status).toBe(401);
    expect(hashStats.derivations - mid).toBe(1);

    const noTenant = hashStats.derivations;
    await signIn("no-such-tenant-at-all", { email }, PASSWORD);
    expect(hashStats.derivations - noTenant).toBe(1);
  });

  it("rehashes a password stored with weaker parameters at the next sign-in", async () => {
    const { tenant, user, email } = await tenantWithUser();
    const weak = await hashPassword(PASSWORD, { logN: 4, r: 8, p: 1 });
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(weak, user.id).run();
    expect((await signIn(tenant.id, { email }, PASSWORD)).status).toBe(200);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(user.id).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/);
    expect((await signIn(tenant.id, { email }, PASSWORD)).status).toBe(200);
  });

  it("gives a temporary password a token good for POST /v1/users/me/password alone", async () => {
    const { tenant, email } = await tenantWithUser({ temporary_password: true });
    const res = await signIn(tenant.id, { email }, PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.password_change_required).toBe(true);
    const token = res.body.access_token;
    await expectProblem(await api("GET", "/v1/users/me", { token }), 403, "password_change_required");
    await expectProblem(await api("GET", "/v1/events", { token }), 403, "password_change_required");
    // Bad input does not get past it either: the session's answer comes before the 422.
    await expectProblem(await api("POST", "/v1/users", { token, body: {} }), 403, "password_change_required");
    await expectProblem(await api("PATCH", "/v1/users/me", { token, body: { bogus: 1 } }), 403, "password_change_required");
    await expectProblem(await api("GET", "/v1/users?limit=0", { token }), 403, "password_change_required");
    // The route with a trailing slash is the same route.
    const change = await api("POST", "/v1/users/me/password/", {
      token,
      body: { current_password: PASSWORD, new_password: "brand-new-pass-2" },
    });
    expect(change.status).toBe(204);
    const me = await call("GET", "/v1/users/me", { token });
    expect(me.status).toBe(200);
    expect(me.body.password_change_required).toBe(false);
    expect((await signIn(tenant.id, { email }, "brand-new-pass-2")).body.password_change_required).toBe(false);
  });
});

describe("brute-force protection", () => {
  it("answers 429 after exactly LOGIN_MAX_FAILURES failures, not before, and lifts after the lock-out", async () => {
    const { tenant, email } = await tenantWithUser();
    for (let i = 1; i <= MAX_FAILURES; i++) {
      const res = await signIn(tenant.id, { email }, `wrong-${i}`);
      expect(res.status, `failure ${i}`).toBe(401);
    }
    const locked = await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, email, password: PASSWORD } });
    await expectProblem(locked, 429, "rate_limited");
    expect(locked.headers.get("Retry-After")).toBe(String(LOCKOUT_SECONDS));

    advanceSeconds(LOCKOUT_SECONDS - 1);
    const stillLocked = await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, email, password: PASSWORD } });
    expect(stillLocked.status).toBe(429);
    expect(stillLocked.headers.get("Retry-After")).toBe("1");

    advanceSeconds(1);
    expect((await signIn(tenant.id, { email }, PASSWORD)).status).toBe(200);
  });

  it("grows the lock-out each time: LOGIN_LOCKOUT_SECONDS · 2^(earlier lock-outs)", async () => {
    const { tenant, email } = await tenantWithUser();
    const failAll = async () => {
      for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(tenant.id, { email }, "wrong")).status).toBe(401);
    };
    await failAll();
    expect((await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, email, password: "x" } })).headers.get("Retry-After")).toBe("60");
    advanceSeconds(60);
    await failAll();
    const second = await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, email, password: "x" } });
    expect(second.status).toBe(429);
    expect(second.headers.get("Retry-After")).toBe("120");
    advanceSeconds(120);
    await failAll();
    const third = await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, email, password: "x" } });
    expect(third.headers.get("Retry-After")).toBe("240");
  });

  it("counts failures in a 15-minute window: older ones no longer count", async () => {
    const { tenant, email } = await tenantWithUser();
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await signIn(tenant.id, { email }, "wrong")).status).toBe(401);
    advanceSeconds(15 * 60 - 1);
    // Still the same window: one more failure spends the budget.
    expect((await signIn(tenant.id, { email }, "wrong")).status).toBe(401);
    expect((await signIn(tenant.id, { email }, PASSWORD)).status).toBe(429);
    advanceSeconds(LOCKOUT_SECONDS);
    // A later window starts from nothing: MAX_FAILURES failures again before the next lock-out.
    const other = await tenantWithUser();
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await signIn(other.tenant.id, { email: other.email }, "wrong")).status).toBe(401);
    advanceSeconds(15 * 60);
    for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(other.tenant.id, { email: other.email }, "wrong")).status, `failure ${i + 1}`).toBe(401);
    expect((await signIn(other.tenant.id, { email: other.email }, PASSWORD)).status).toBe(429);
  });

  it("resets the account's count on a successful sign-in", async () => {
    const { tenant, email } = await tenantWithUser();
    for (let i = 0; i < MAX_FAILURES - 1; i++) await signIn(tenant.id, { email }, "wrong");
    expect((await signIn(tenant.id, { email }, PASSWORD)).status).toBe(200);
    for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(tenant.id, { email }, "wrong")).status).toBe(401);
    expect((await signIn(tenant.id, { email }, PASSWORD)).status).toBe(429);
  });

  it("counts email and username of one account together", async () => {
    const { tenant, user, email } = await tenantWithUser();
    for (let i = 0; i < MAX_FAILURES; i++) {
      const login = i % 2 === 0 ? { email } : { username: user.username };
      expect((await signIn(tenant.id, login, "wrong")).status).toBe(401);
    }
    expect((await signIn(tenant.id, { username: user.username }, PASSWORD)).status).toBe(429);
  });

  it("locks unknown accounts the same way, so a 429 says nothing about existence", async () => {
    const { tenant } = await tenantWithUser();
    const ghost = { email: `ghost@${tenant.slug}.test` };
    for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(tenant.id, ghost, "wrong")).status).toBe(401);
    await expectProblem(await api("POST", "/v1/auth/token", { body: { tenant: tenant.id, ...ghost, password: "x" } }), 429, "rate_limited");
  });

  it("never lets concurrent guesses overrun the budget", async () => {
    const { tenant, email } = await tenantWithUser();
    const results = await Promise.all(Array.from({ length: 12 }, () => signIn(tenant.id, { email }, "wrong")));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - MAX_FAILURES);
  });

  it("lets concurrent sign-ins with the right password all through (no 429 without failures)", async () => {
    const { tenant, email } = await tenantWithUser();
    const results = await Promise.all(Array.from({ length: 12 }, () => signIn(tenant.id, { email }, PASSWORD, { "CF-Connecting-IP": freshIp() })));
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 12 }, () => 200));
    // Nothing failed, so nothing is held against the account afterwards.
    for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(tenant.id, { email }, "wrong")).status).toBe(401);
  });

  it("limits one client address across accounts (CF-Connecting-IP), leaving other addresses alone", async () => {
    const { tenant } = await tenantWithUser();
    const ip = freshIp();
    for (let i = 0; i < IP_MAX_FAILURES; i++) {
      // A new account each time: only the address counter can add up.
      const res = await signIn(tenant.id, { email: `spray${i}@${tenant.slug}.test` }, "wrong", { "CF-Connecting-IP": ip });
      expect(res.status, `failure ${i + 1}`).toBe(401);
    }
    const { tenant: other, email } = await tenantWithUser();
    const blocked = await signIn(other.id, { email }, PASSWORD, { "CF-Connecting-IP": ip });
    expect(blocked.status).toBe(429);
    // The address budget is a token bucket: the wait is for its next token (LOGIN_IP_REFILL_SECONDS, 864).
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(600);
    expect(Number(blocked.headers.get("Retry-After"))).toBeLessThanOrEqual(864);
    expect((await signIn(other.id, { email }, PASSWORD, { "CF-Connecting-IP": freshIp() })).status).toBe(200);
  });

  it("does not count attempts refused by a locked account against the address", async () => {
    const { tenant, email } = await tenantWithUser();
    const ip = freshIp();
    for (let i = 0; i < MAX_FAILURES; i++) expect((await signIn(tenant.id, { email }, "wrong", { "CF-Connecting-IP": ip })).status).toBe(401);
    // Knocking on the locked account checks no password: none of these uses up the address.
    for (let i = 0; i < IP_MAX_FAILURES; i++) expect((await signIn(tenant.id, { email }, "wrong", { "CF-Connecting-IP": ip })).status).toBe(429);
    const other = await tenantWithUser();
    expect((await signIn(other.tenant.id, { email: other.email }, PASSWORD, { "CF-Connecting-IP": ip })).status).toBe(200);
  });

  it("does not count successful sign-ins against the address", async () => {
    const { tenant, email } = await tenantWithUser();
    const ip = freshIp();
    for (let i = 0; i < IP_MAX_FAILURES + 5; i++) {
      expect((await signIn(tenant.id, { email }, PASSWORD, { "CF-Connecting-IP": ip })).status).toBe(200);
    }
  });
});

describe("POST /v1/auth/refresh", () => {
  async function session() {
    const f = await tenantWithUser();
    const res = await signIn(f.tenant.id, { email: f.email }, PASSWORD);
    expect(res.status).toBe(200);
    return { ...f, pair: res.body as { access_token: string; refresh_token: string } };
  }

  const refresh = (refresh_token: string) => call("POST", "/v1/auth/refresh", { body: { refresh_token } });

  it("trades a refresh token for a new pair in the same session", async () => {
    const { pair } = await session();
    const next = await refresh(pair.refresh_token);
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ token_type: "Bearer", expires_in: 900, password_change_required: false });
    expect(next.body.refresh_token).not.toBe(pair.refresh_token);
    const sid = (t: string) => JSON.parse(atob(t.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))).sid;
    expect(sid(next.body.access_token)).toBe(sid(pair.access_token));
    expect((await api("GET", "/v1/users/me", { token: next.body.access_token })).status).toBe(200);
    expect((await refresh(next.body.refresh_token)).status).toBe(200);
  });

  it("revokes the whole session when a used refresh token is replayed", async () => {
    const { pair, tenant, ownerToken } = await session();
    const next = await refresh(pair.refresh_token);
    expect(next.status).toBe(200);

    await expectProblem((await api("POST", "/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } })), 401, "invalid_refresh_token");
    // Everything of that session is dead: both access tokens and the newest refresh token.
    await expectProblem(await api("GET", "/v1/users/me", { token: pair.access_token }), 401, "unauthorized");
    await expectProblem(await api("GET", "/v1/users/me", { token: next.body.access_token }), 401, "unauthorized");
    await expectProblem((await api("POST", "/v1/auth/refresh", { body: { refresh_token: next.body.refresh_token } })), 401, "invalid_refresh_token");

    const events = await call("GET", "/v1/events?type=session.revoked", { token: ownerToken });
    expect(events.body.items).toEqual([
      expect.objectContaining({ type: "session.revoked", data: expect.objectContaining({ reason: "refresh_token_reused" }) }),
    ]);
    void tenant;
  });

  it("lets exactly one of two concurrent uses of a token win", async () => {
    const { pair } = await session();
    const results = await Promise.all([refresh(pair.refresh_token), refresh(pair.refresh_token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it("refuses malformed, unknown and expired tokens with 401", async () => {
    const { pair } = await session();
    await expectProblem(await api("POST", "/v1/auth/refresh", { body: { refresh_token: "nope" } }), 401, "invalid_refresh_token");
    await expectProblem(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: `rt_${"A".repeat(43)}` } }),
      401,
      "invalid_refresh_token",
    );
    advanceSeconds(Number(env.REFRESH_TOKEN_TTL_SECONDS) + 1);
    await expectProblem(await api("POST", "/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } }), 401, "invalid_refresh_token");
    await expectProblem(await api("POST", "/v1/auth/refresh", { body: {} }), 422, "validation_failed");
  });

  it("refuses the refresh token of a deactivated user", async () => {
    const { pair, user, tenant } = await session();
    const off = await api("PATCH", `/v1/users/${user.id}`, { token: PLATFORM_KEY, tenant: tenant.id, body: { is_active: false } });
    expect(off.status).toBe(200);
    await expectProblem(await api("POST", "/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } }), 401, "invalid_refresh_token");
  });
});

describe("POST /v1/auth/logout", () => {
  it("revokes the session: its access and refresh tokens stop working at once", async () => {
    const { tenant, email, ownerToken } = await tenantWithUser();
    const { body: pair } = await signIn(tenant.id, { email }, PASSWORD);
    const { body: other } = await signIn(tenant.id, { email }, PASSWORD);
    const res = await api("POST", "/v1/auth/logout", { token: pair.access_token });
    expect(res.status).toBe(204);
    await expectProblem(await api("GET", "/v1/users/me", { token: pair.access_token }), 401, "unauthorized");
    // Bad input from the ended session is a 401 too, not a 422 that tells it the route's rules.
    await expectProblem(await api("POST", "/v1/users", { token: pair.access_token, body: {} }), 401, "unauthorized");
    await expectProblem(await api("PATCH", "/v1/users/me", { token: pair.access_token, body: { bogus: 1 } }), 401, "unauthorized");
    await expectProblem(await api("GET", "/v1/users?limit=0&sort=nope", { token: pair.access_token }), 401, "unauthorized");
    await expectProblem(await api("POST", "/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } }), 401, "invalid_refresh_token");
    // Another session of the same user lives on.
    expect((await api("GET", "/v1/users/me", { token: other.access_token })).status).toBe(200);
    const events = await call("GET", "/v1/events?type=session.revoked", { token: ownerToken });
    expect(events.body.items.map((e: { data: { reason: string } }) => e.data.reason)).toEqual(["logout"]);
  });

  it("needs credentials (401) and a session (API keys get 403)", async () => {
    await expectProblem(await api("POST", "/v1/auth/logout"), 401, "unauthorized");
    await expectProblem(await api("POST", "/v1/auth/logout", { token: PLATFORM_KEY }), 403, "forbidden");
  });
});
