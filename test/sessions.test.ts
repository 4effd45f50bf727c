import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, signIn, userWithToken } from "./helpers";

const PASSWORD = "session-password-1";

async function tenantWithUser() {
  const t = await createTenant();
  const email = `sam@${t.tenant.slug}.test`;
  const user = await createUser(t.tenant.id, { email, password: PASSWORD });
  const signInAs = (agent = "test-agent", ip = "203.0.113.7") =>
    signIn(t.tenant.id, { email }, PASSWORD, { "User-Agent": agent, "CF-Connecting-IP": ip }).then((r) => r.body as { access_token: string; refresh_token: string });
  return { ...t, user, email, signInAs };
}

const sidOf = (token: string) => JSON.parse(atob(token.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))).sid as string;

describe("GET /v1/users/{id}/sessions", () => {
  it("lists the user's live sessions, newest first, marking the caller's own", async () => {
    const t = await tenantWithUser();
    const first = await t.signInAs("agent-one", "203.0.113.1");
    const second = await t.signInAs("agent-two", "203.0.113.2");
    const res = await call("GET", `/v1/users/${t.user.id}/sessions`, { token: first.access_token });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      {
        id: sidOf(second.access_token),
        created_at: expect.any(String),
        last_used_at: expect.any(String),
        expires_at: expect.any(String),
        ip: "203.0.113.2",
        user_agent: "agent-two",
        current: false,
      },
      expect.objectContaining({ id: sidOf(first.access_token), ip: "203.0.113.1", user_agent: "agent-one", current: true }),
    ]);
    expect(res.body.next_cursor).toBeNull();
    const me = await call("GET", "/v1/users/me/sessions", { token: first.access_token });
    expect(me.body.items).toHaveLength(2);
  });

  it("pages with a cursor or by page number", async () => {
    const t = await tenantWithUser();
    const tokens = [await t.signInAs(), await t.signInAs(), await t.signInAs()];
    const page1 = await call("GET", `/v1/users/${t.user.id}/sessions?limit=2`, { token: tokens[0]!.access_token });
    expect(page1.body.items).toHaveLength(2);
    const page2 = await call("GET", `/v1/users/${t.user.id}/sessions?limit=2&cursor=${page1.body.next_cursor}`, { token: tokens[0]!.access_token });
    expect(page2.body.items).toHaveLength(1);
    expect(page2.body.next_cursor).toBeNull();
    const ids = [...page1.body.items, ...page2.body.items].map((s: { id: string }) => s.id);
    expect(ids).toEqual(tokens.map((p) => sidOf(p.access_token)).reverse());
    const paged = await call("GET", `/v1/users/${t.user.id}/sessions?page=2&page_size=2`, { token: t.ownerToken });
    expect(paged.body).toMatchObject({ total: 3, page: 2, page_size: 2 });
    expect(paged.body.items.map((s: { id: string }) => s.id)).toEqual([ids[2]]);
    await expectProblem(await api("GET", `/v1/users/${t.user.id}/sessions?limit=2&page=1`, { token: t.ownerToken }), 422, "validation_failed");
  });

  it("leaves out revoked and expired sessions", async () => {
    const t = await tenantWithUser();
    const a = await t.signInAs();
    const b = await t.signInAs();
    await api("POST", "/v1/auth/logout", { token: b.access_token });
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE user_id = ? AND id <> ?")
      .bind(new Date(Date.now() - 1000).toISOString(), t.user.id, sidOf(a.access_token))
      .run();
    await t.signInAs();
    const res = await call("GET", `/v1/users/${t.user.id}/sessions`, { token: t.ownerToken });
    expect(res.body.items).toHaveLength(2);
    expect(res.body.items.map((s: { id: string }) => s.id)).not.toContain(sidOf(b.access_token));
  });

  it("lets holders of users:read list other users' sessions; others get 404 or 403", async () => {
    const t = await tenantWithUser();
    await t.signInAs();
    expect((await call("GET", `/v1/users/${t.user.id}/sessions`, { token: t.ownerToken })).body.items).toHaveLength(1);
    expect((await api("GET", `/v1/users/${t.user.id}/sessions`, { token: PLATFORM_KEY, tenant: t.tenant.id })).status).toBe(200);
    const admin = await userWithToken(t.tenant.id, { email: `admin@${t.tenant.slug}.test`, roles: ["admin"] });
    expect((await api("GET", `/v1/users/${t.user.id}/sessions`, { token: admin.token })).status).toBe(200);

    const member = await userWithToken(t.tenant.id, { email: `member@${t.tenant.slug}.test` });
    await expectProblem(await api("GET", `/v1/users/${t.user.id}/sessions`, { token: member.token }), 404, "not_found");
    // A manager sees the managed user, but reading sessions needs users:read.
    const kid = await call("POST", "/v1/users/me/managed-users", { token: member.token, body: { first_name: "Kid", last_name: "Doe" } });
    await expectProblem(await api("GET", `/v1/users/${kid.body.id}/sessions`, { token: member.token }), 403, "forbidden");
  });

  it("answers 404 for a user of another tenant", async () => {
    const a = await tenantWithUser();
    const b = await tenantWithUser();
    await expectProblem(await api("GET", `/v1/users/${b.user.id}/sessions`, { token: a.ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", `/v1/users/${b.user.id}/sessions`, { token: a.ownerToken }), 404, "not_found");
  });
});

describe("DELETE /v1/users/{id}/sessions/{sid}", () => {
  it("revokes one session at once and records session.revoked; other sessions live on", async () => {
    const t = await tenantWithUser();
    const keep = await t.signInAs();
    const drop = await t.signInAs();
    const res = await api("DELETE", `/v1/users/${t.user.id}/sessions/${sidOf(drop.access_token)}`, { token: keep.access_token });
    expect(res.status).toBe(204);
    await expectProblem(await api("GET", "/v1/users/me", { token: drop.access_token }), 401, "unauthorized");
    await expectProblem(await api("POST", "/v1/auth/refresh", { body: { refresh_token: drop.refresh_token } }), 401, "invalid_refresh_token");
    expect((await api("GET", "/v1/users/me", { token: keep.access_token })).status).toBe(200);
    const events = await call("GET", "/v1/events?type=session.revoked", { token: t.ownerToken });
    expect(events.body.items.map((e: { data: unknown }) => e.data)).toEqual([
      { user_id: t.user.id, session_id: sidOf(drop.access_token), reason: "revoked" },
    ]);
  });

  it("answers 404 for a revoked, unknown or someone else's session", async () => {
    const t = await tenantWithUser();
    const mine = await t.signInAs();
    const other = await userWithToken(t.tenant.id, { email: `other@${t.tenant.slug}.test` });
    await expectProblem(await api("DELETE", `/v1/users/${t.user.id}/sessions/${sidOf(other.token)}`, { token: t.ownerToken }), 404, "not_found");
    await expectProblem(await api("DELETE", `/v1/users/${t.user.id}/sessions/ses_nope`, { token: mine.access_token }), 404, "not_found");
    expect((await api("DELETE", `/v1/users/${t.user.id}/sessions/${sidOf(mine.access_token)}`, { token: t.ownerToken })).status).toBe(204);
    await expectProblem(await api("DELETE", `/v1/users/${t.user.id}/sessions/${sidOf(mine.access_token)}`, { token: t.ownerToken }), 404, "not_found");
    // An expired session is over already: 404, and no session.revoked event for it.
    const expired = await t.signInAs();
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), sidOf(expired.access_token)).run();
    await expectProblem(await api("DELETE", `/v1/users/${t.user.id}/sessions/${sidOf(expired.access_token)}`, { token: t.ownerToken }), 404, "not_found");
    const events = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE type = 'session.revoked' AND data LIKE ?").bind(`%${sidOf(expired.access_token)}%`).first<{ n: number }>();
    expect(events!.n).toBe(0);
  });

  it("If-Match: only * matches a session (no answer carries its tag); another tag is a 412 and the session lives", async () => {
    const t = await tenantWithUser();
    const s = await t.signInAs();
    const url = `/v1/users/${t.user.id}/sessions/${sidOf(s.access_token)}`;
    await expectProblem(await api("DELETE", url, { token: t.ownerToken, headers: { "If-Match": '"h-anything"' } }), 412, "precondition_failed");
    expect((await api("GET", "/v1/users/me", { token: s.access_token })).status).toBe(200);
    expect((await api("DELETE", url, { token: t.ownerToken, headers: { "If-Match": "*" } })).status).toBe(204);
    await expectProblem(await api("GET", "/v1/users/me", { token: s.access_token }), 401, "unauthorized");
  });

  it("needs sessions:write for another user's session", async () => {
    const t = await tenantWithUser();
    const s = await t.signInAs();
    const member = await userWithToken(t.tenant.id, { email: `member@${t.tenant.slug}.test` });
    await expectProblem(await api("DELETE", `/v1/users/${t.user.id}/sessions/${sidOf(s.access_token)}`, { token: member.token }), 404, "not_found");
    const kid = await call("POST", "/v1/users/me/managed-users", { token: member.token, body: { first_name: "Kid", last_name: "Doe" } });
    await expectProblem(await api("DELETE", `/v1/users/${kid.body.id}/sessions`, { token: member.token }), 403, "forbidden");
    const admin = await userWithToken(t.tenant.id, { email: `admin@${t.tenant.slug}.test`, roles: ["admin"] });
    expect((await api("DELETE", `/v1/users/${t.user.id}/sessions/${sidOf(s.access_token)}`, { token: admin.token })).status).toBe(204);
  });
});

describe("DELETE /v1/users/{id}/sessions", () => {
  it("If-Match: only * matches the list (it carries no tag); another tag is a 412 and every session lives", async () => {
    const t = await tenantWithUser();
    const [a, b] = [await t.signInAs(), await t.signInAs()];
    const url = `/v1/users/${t.user.id}/sessions`;
    await expectProblem(await api("DELETE", url, { token: t.ownerToken, headers: { "If-Match": '"h-anything"' } }), 412, "precondition_failed");
    for (const s of [a, b]) expect((await api("GET", "/v1/users/me", { token: s.access_token })).status).toBe(200);
    expect((await api("DELETE", url, { token: t.ownerToken, headers: { "If-Match": "*" } })).status).toBe(204);
    for (const s of [a, b]) await expectProblem(await api("GET", "/v1/users/me", { token: s.access_token }), 401, "unauthorized");
  });

  it("revokes every session of the user, the caller's own included, one event each", async () => {
    const t = await tenantWithUser();
    const sessions = [await t.signInAs(), await t.signInAs(), await t.signInAs()];
    expect((await api("DELETE", `/v1/users/${t.user.id}/sessions`, { token: sessions[0]!.access_token })).status).toBe(204);
    for (const s of sessions) await expectProblem(await api("GET", "/v1/users/me", { token: s.access_token }), 401, "unauthorized");
    const events = await call("GET", "/v1/events?type=session.revoked", { token: t.ownerToken });
    expect(events.body.items.map((e: { data: { session_id: string } }) => e.data.session_id).sort()).toEqual(
      sessions.map((s) => sidOf(s.access_token)).sort(),
    );
    // Nothing left: another call is still a 204 and records nothing.
    expect((await api("DELETE", `/v1/users/${t.user.id}/sessions`, { token: t.ownerToken })).status).toBe(204);
    expect((await call("GET", "/v1/events?type=session.revoked", { token: t.ownerToken })).body.items).toHaveLength(3);
  });

  it("does not touch other users' sessions", async () => {
    const t = await tenantWithUser();
    await t.signInAs();
    const owner = await signIn(t.tenant.id, { email: t.owner.email }, t.ownerPassword);
    expect((await api("DELETE", `/v1/users/${t.user.id}/sessions`, { token: owner.body.access_token })).status).toBe(204);
    expect((await api("GET", "/v1/users/me", { token: owner.body.access_token })).status).toBe(200);
  });
});
