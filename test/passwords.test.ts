import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, signIn, userWithToken } from "./helpers";

const PASSWORD = "first-password-1";
const NEW_PASSWORD = "second-password-2";

afterEach(() => {
  vi.useRealTimers();
});

async function tenantWithUser(extra: Record<string, unknown> = {}) {
  const t = await createTenant();
  const email = `max@${t.tenant.slug}.test`;
  const user = await createUser(t.tenant.id, { email, password: PASSWORD, ...extra });
  const session = await signIn(t.tenant.id, { email }, PASSWORD);
  return { ...t, user, email, token: session.body.access_token as string, refreshToken: session.body.refresh_token as string };
}

const changePassword = (token: string, body: Record<string, unknown>) => api("POST", "/v1/users/me/password", { token, body });

describe("POST /v1/users/me/password", () => {
  it("changes the password, keeps this session and revokes the others", async () => {
    const t = await tenantWithUser();
    const other = await signIn(t.tenant.id, { email: t.email }, PASSWORD);
    expect((await changePassword(t.token, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(204);

    expect((await api("GET", "/v1/users/me", { token: t.token })).status).toBe(200);
    expect((await api("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } })).status).toBe(200);
    await expectProblem(await api("GET", "/v1/users/me", { token: other.body.access_token }), 401, "unauthorized");
    await expectProblem(
      await api("POST", "/v1/auth/refresh", { body: { refresh_token: other.body.refresh_token } }),
      401,
      "invalid_refresh_token",
    );
    expect((await signIn(t.tenant.id, { email: t.email }, PASSWORD)).status).toBe(401);
    expect((await signIn(t.tenant.id, { email: t.email }, NEW_PASSWORD)).status).toBe(200);
  });

  it("records user.password_changed and one session.revoked per ended session, in order", async () => {
    const t = await tenantWithUser();
    await signIn(t.tenant.id, { email: t.email }, PASSWORD);
    await changePassword(t.token, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    const events = await call("GET", "/v1/events", { token: t.ownerToken });
    const mine = events.body.items.filter((e: { data: { user_id?: string } }) => e.data.user_id === t.user.id);
    expect(mine.map((e: { type: string }) => e.type)).toEqual(["user.created", "session.revoked", "user.password_changed"]);
    expect(mine[1].data).toMatchObject({ reason: "password_changed" });
    expect(mine[2].data).toMatchObject({ user_id: t.user.id, via: "change", actor: { kind: "user", id: t.user.id } });
  });

  it("answers 422 naming current_password when it is wrong, and counts it as a failed sign-in", async () => {
    const t = await tenantWithUser();
    for (let i = 0; i < 5; i++) {
      const res = await changePassword(t.token, { current_password: `wrong-${i}`, new_password: NEW_PASSWORD });
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(problem.errors).toEqual([{ path: "current_password", message: expect.any(String), code: "incorrect_password" }]);
    }
    const limited = await changePassword(t.token, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    await expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.get("Retry-After")).toBe("60");
    // Nothing changed.
    expect((await signIn(t.tenant.id, { email: t.email }, NEW_PASSWORD)).status).not.toBe(200);
  });

  it("answers 422 for a user without a password, an unchanged password and a too-short one", async () => {
    const t = await createTenant();
    const { token } = await userWithToken(t.tenant.id, { email: `nopass@${t.tenant.slug}.test` });
    const none = await changePassword(token, { current_password: "anything-1", new_password: NEW_PASSWORD });
    expect((await expectProblem(none, 422, "validation_failed")).errors![0]).toMatchObject({ path: "current_password", code: "no_password" });

    const u = await tenantWithUser();
    const same = await changePassword(u.token, { current_password: PASSWORD, new_password: PASSWORD });
    expect((await expectProblem(same, 422, "validation_failed")).errors![0]!.path).toBe("new_password");
    const short = await changePassword(u.token, { current_password: PASSWORD, new_password: "short" });
    expect((await expectProblem(short, 422, "validation_failed")).errors![0]!.path).toBe("new_password");
    const extra = await changePassword(u.token, { current_password: PASSWORD, new_password: NEW_PASSWORD, force: true });
    await expectProblem(extra, 422, "validation_failed");
  });

  it("is for signed-in users: API keys get 403, no credentials 401", async () => {
    const t = await createTenant();
    await expectProblem(
      await api("POST", "/v1/users/me/password", { token: PLATFORM_KEY, tenant: t.tenant.id, body: { current_password: "a", new_password: NEW_PASSWORD } }),
      403,
      "forbidden",
    );
    await expectProblem(await changePassword("", { current_password: "a", new_password: NEW_PASSWORD }), 401, "unauthorized");
  });

  it("revokes an outstanding reset token", async () => {
    const t = await tenantWithUser();
    const issued = await call("POST", `/v1/users/${t.user.id}/password-resets`, { token: t.token, body: {} });
    expect(issued.status).toBe(201);
    await changePassword(t.token, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    await expectProblem(
      await api("POST", "/v1/password-resets/confirm", { body: { reset_token: issued.body.reset_token, password: "third-password-3" } }),
      400,
      "invalid_reset_token",
    );
  });
});

describe("POST /v1/users/{id}/password-resets", () => {
  const issue = (token: string, userId: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    call("POST", `/v1/users/${userId}/password-resets`, { token, body, headers });

  it("lets a holder of users:write issue a token: 201 with the token, expires_at and user_id", async () => {
    const t = await tenantWithUser();
    const before = Date.now();
    const res = await issue(t.ownerToken, t.user.id, { ttl_seconds: 120 });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      reset_token: expect.stringMatching(new RegExp(`^rst_${t.tenant.id}\\.[A-Za-z0-9_-]{43}$`)),
      expires_at: expect.any(String),
      user_id: t.user.id,
    });
    const ttl = Date.parse(res.body.expires_at) - before;
    expect(ttl).toBeGreaterThanOrEqual(119_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
  });

  it("defaults to one hour and lets users issue their own (also as /me)", async () => {
    const t = await tenantWithUser();
    const res = await issue(t.token, t.user.id);
    expect(res.status).toBe(201);
    expect(Date.parse(res.body.expires_at) - Date.now()).toBeGreaterThan(3_590_000);
    const other = await tenantWithUser();
    expect((await issue(other.token, "me")).status).toBe(201);
  });

  it("answers 409 reset_token_active while a token is active, unless force revokes it", async () => {
    const t = await tenantWithUser();
    const first = await issue(t.ownerToken, t.user.id);
    await expectProblem((await api("POST", `/v1/users/${t.user.id}/password-resets`, { token: t.ownerToken, body: {} })), 409, "reset_token_active");
    const forced = await issue(t.ownerToken, t.user.id, { force: true });
    expect(forced.status).toBe(201);
    await expectProblem(
      await api("POST", "/v1/password-resets/confirm", { body: { reset_token: first.body.reset_token, password: NEW_PASSWORD } }),
      400,
      "invalid_reset_token",
    );
    expect((await api("POST", "/v1/password-resets/confirm", { body: { reset_token: forced.body.reset_token, password: NEW_PASSWORD } })).status).toBe(204);
    // Used: a new one may be issued without force.
    expect((await issue(t.ownerToken, t.user.id)).status).toBe(201);
  });

  it("issues again once the active token has expired", async () => {
    const t = await tenantWithUser();
    expect((await issue(t.ownerToken, t.user.id, { ttl_seconds: 60 })).status).toBe(201);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    expect((await issue(t.ownerToken, t.user.id)).status).toBe(201);
  });

  it("replays the first answer for a repeated Idempotency-Key, without the token (never stored in the clear)", async () => {
    const t = await tenantWithUser();
    const headers = { "Idempotency-Key": `reset-${t.user.id}` };
    const first = await issue(t.ownerToken, t.user.id, {}, headers);
    const again = await issue(t.ownerToken, t.user.id, {}, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    const { reset_token, ...rest } = first.body;
    expect(reset_token).toMatch(/^rst_/);
    expect(again.body).toEqual(rest);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const stored = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE key = ?").bind(headers["Idempotency-Key"]).first<{ body: string }>();
    expect(stored!.body).not.toContain(reset_token);
  });

  it("refuses callers who may not: members get 404 for users they cannot see, managers 403", async () => {
    const t = await tenantWithUser();
    const member = await userWithToken(t.tenant.id, { email: `member@${t.tenant.slug}.test` });
    await expectProblem(await api("POST", `/v1/users/${t.user.id}/password-resets`, { token: member.token, body: {} }), 404, "not_found");
    // A manager sees the managed user but holds no users:write.
    const kid = await call("POST", "/v1/users/me/managed-users", { token: member.token, body: { first_name: "Kid", last_name: "Doe" } });
    await expectProblem(await api("POST", `/v1/users/${kid.body.id}/password-resets`, { token: member.token, body: {} }), 403, "forbidden");
  });

  it("answers 404 for a user of another tenant", async () => {
    const a = await tenantWithUser();
    const b = await tenantWithUser();
    await expectProblem(await api("POST", `/v1/users/${b.user.id}/password-resets`, { token: a.ownerToken, body: {} }), 404, "not_found");
  });

  it("answers 409 conflict for managed and inactive users, who cannot sign in", async () => {
    const t = await tenantWithUser();
    const kid = await call("POST", "/v1/users/me/managed-users", { token: t.ownerToken, body: { first_name: "Kid", last_name: "Doe" } });
    await expectProblem(await api("POST", `/v1/users/${kid.body.id}/password-resets`, { token: t.ownerToken, body: {} }), 409, "conflict");
    const off = await createUser(t.tenant.id, { email: `off@${t.tenant.slug}.test`, is_active: false });
    await expectProblem(await api("POST", `/v1/users/${off.id}/password-resets`, { token: t.ownerToken, body: {} }), 409, "conflict");
  });

  it("validates ttl_seconds (60–86400) and force", async () => {
    const t = await tenantWithUser();
    for (const body of [{ ttl_seconds: 59 }, { ttl_seconds: 86_401 }, { ttl_seconds: 1.5 }, { force: "yes" }, { extra: 1 }]) {
      await expectProblem(await api("POST", `/v1/users/${t.user.id}/password-resets`, { token: t.ownerToken, body }), 422, "validation_failed");
    }
    expect((await issue(t.ownerToken, t.user.id, { ttl_seconds: 86_400 })).status).toBe(201);
  });
});
