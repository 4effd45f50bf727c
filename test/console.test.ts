import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTenant, createUser, PLATFORM_KEY } from "./helpers";

const ORIGIN = "https://userplane.test";

/** A browser-like request to the console: form posts carry an Origin, cookies go as sent. */
function browse(path: string, opts: { cookie?: string; form?: Record<string, string | string[]>; origin?: string | null; base?: string } = {}) {
  const base = opts.base ?? ORIGIN;
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.Cookie = opts.cookie;
  let body: string | undefined;
  if (opts.form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.form)) for (const one of [v].flat()) params.append(k, one);
    body = params.toString();
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    if (opts.origin !== null) headers.Origin = opts.origin ?? new URL(base).origin;
  }
  return exports.default.fetch(new Request(`${base}${path}`, { method: opts.form ? "POST" : "GET", headers, body, redirect: "manual" }));
}

const cookieOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith("token="))!;

async function consoleSession(tenant: string, email: string, password: string, base?: string) {
  const res = await browse("/console/sign-in", { form: { tenant, email, password }, base });
  expect(res.status).toBe(303);
  return { res, cookie: cookieOf(res).split(";")[0]! };
}

const alertOf = (html: string) => /<div role="alert">([^<]*)<\/div>/.exec(html)?.[1];

describe("console sign-in", () => {
  it("every page but sign-in leads to sign-in without a session", async () => {
    for (const path of ["/console", "/console/users", "/console/users/usr_x", "/console/roles", "/console/api-keys", "/console/events", "/console/webhooks", "/console/password"]) {
      const res = await browse(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get("Location"), path).toMatch(/^\/console\/sign-in/);
    }
    expect((await browse("/console/sign-in")).status).toBe(200);
  });

  it("a wrong password shows the 401's detail in role=alert and sets no cookie", async () => {
    const { tenant, owner } = await createTenant();
    const res = await browse("/console/sign-in", { form: { tenant: tenant.slug, email: owner.email, password: "wrong-password" } });
    expect(res.status).toBe(401);
    const api = await call("POST", "/v1/auth/token", { body: { tenant: tenant.slug, email: owner.email, password: "wrong-password" } });
    expect(alertOf(await res.text())).toBe(api.body.detail.replaceAll("'", "&#39;"));
    expect(res.headers.getSetCookie().some((c) => c.startsWith("token="))).toBe(false);
  });

  it("the session is the token cookie: HttpOnly, SameSite=Strict, Secure except on http://localhost and 127.0.0.1", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const secure = await consoleSession(tenant.slug, owner.email, ownerPassword);
    const attrs = cookieOf(secure.res);
    expect(attrs).toMatch(/HttpOnly/);
    expect(attrs).toMatch(/SameSite=Strict/);
    expect(attrs).toMatch(/Secure/);
    expect(attrs).toMatch(/Path=\//);
    for (const base of ["http://localhost:8787", "http://127.0.0.1:8787"]) {
      const local = await consoleSession(tenant.slug, owner.email, ownerPassword, base);
      expect(cookieOf(local.res)).not.toMatch(/Secure/);
    }
    const plainHttp = await consoleSession(tenant.slug, owner.email, ownerPassword, "http://userplane.test");
    expect(cookieOf(plainHttp.res)).toMatch(/Secure/);
    const page = await browse("/console/users", { cookie: secure.cookie });
    expect(page.status).toBe(200);
  });

  it("a temporary password leads to the password change before anything else", async () => {
    const { tenant } = await createTenant();
    const email = `temp@${tenant.slug}.test`;
    await createUser(tenant.id, { email, password: "temporary-pass-1", temporary_password: true });
    const { res, cookie } = await consoleSession(tenant.slug, email, "temporary-pass-1");
    expect(res.headers.get("Location")).toBe("/console/password");
    expect((await browse("/console/users", { cookie })).headers.get("Location")).toBe("/console/password");
    const changed = await browse("/console/password", { cookie, form: { current_password: "temporary-pass-1", new_password: "my-own-pass-2" } });
    expect(changed.status).toBe(303);
    expect((await browse("/console/users", { cookie })).status).toBe(200);
  });

  it("sign out revokes the session and clears the cookie", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const { cookie } = await consoleSession(tenant.slug, owner.email, ownerPassword);
    const out = await browse("/console/sign-out", { cookie, form: {} });
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie().find((c) => c.startsWith("token="))).toMatch(/Max-Age=0/);
    expect((await call("GET", "/v1/users/me", { token: cookie.slice("token=".length) })).status).toBe(401);
  });
});

describe("console headers", () => {
  it("pages carry a CSP of the worker's own origin, frame-ancestors 'none', no-store and Server-Timing", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const { cookie } = await consoleSession(tenant.slug, owner.email, ownerPassword);
    for (const path of ["/console/sign-in", "/console/users"]) {
      const res = await browse(path, { cookie });
      const csp = res.headers.get("Content-Security-Policy")!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|https?:/);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("Server-Timing")).toMatch(/^app;dur=\d+(\.\d+)?/);
      expect(res.headers.get("X-Request-Id")).toBeTruthy();
      const html = await res.text();
      expect(html).not.toMatch(/<script>|<style|style="|https?:\/\/(?!www\.w3)/);
    }
    const css = await browse("/console/assets/console.css");
    expect(css.headers.get("Content-Type")).toMatch(/^text\/css/);
  });

  it("the console is not part of the API document", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(Object.keys(doc.body.paths).filter((p) => p.startsWith("/console"))).toEqual([]);
  });
});

describe("console CSRF rule", () => {
  it("a form post from another origin, or with none, is refused and changes nothing", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const user = await createUser(tenant.id, { email: `csrf@${tenant.slug}.test` });
    const { cookie } = await consoleSession(tenant.slug, owner.email, ownerPassword);
    for (const origin of ["https://evil.test", null, "null"]) {
      const res = await browse(`/console/users/${user.id}/status`, { cookie, form: { active: "false" }, origin });
      expect(res.status, String(origin)).toBe(403);
    }
    const signIn = await browse("/console/sign-in", { form: { tenant: tenant.slug, email: owner.email, password: ownerPassword }, origin: "https://evil.test" });
    expect(signIn.status).toBe(403);
    expect(signIn.headers.getSetCookie()).toEqual([]);
    expect((await call("GET", `/v1/users/${user.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).body.is_active).toBe(true);
    const same = await browse(`/console/users/${user.id}/status`, { cookie, form: { active: "false" } });
    expect(same.status).toBe(303);
    expect((await call("GET", `/v1/users/${user.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).body.is_active).toBe(false);
  });
});

describe("console actions are the API's requests", () => {
  it("a stale Save shows the 412's detail and changes nothing", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const user = await createUser(tenant.id, { email: `stale@${tenant.slug}.test`, first_name: "Old" });
    const { cookie } = await consoleSession(tenant.slug, owner.email, ownerPassword);
    const form = { etag: '"usr-00000000-0"', first_name: "New", last_name: "", username: "", email: user.email, metadata: "{}" };
    const res = await browse(`/console/users/${user.id}`, { cookie, form });
    expect(res.status).toBe(412);
    expect(alertOf(await res.text())).toMatch(/changed|ETag|match/i);
    expect((await call("GET", `/v1/users/${user.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).body.first_name).toBe("Old");
    // Nothing edited, but the form is still stale: the API is asked all the same, and refuses.
    const unchanged = await browse(`/console/users/${user.id}`, { cookie, form: { ...form, first_name: "Old" } });
    expect(unchanged.status).toBe(412);
  });

  it("invalid metadata JSON is a clear error and nothing is sent", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const user = await createUser(tenant.id, { email: `json@${tenant.slug}.test`, metadata: { a: 1 } });
    const { cookie } = await consoleSession(tenant.slug, owner.email, ownerPassword);
    const etag = (await call("GET", `/v1/users/${user.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).headers.get("ETag")!;
    for (const metadata of ["{oops", "[1,2]", "42"]) {
      const res = await browse(`/console/users/${user.id}`, { cookie, form: { etag, first_name: "", last_name: "", username: "", email: user.email, metadata } });
      expect(res.status).toBe(422);
      expect(alertOf(await res.text())).toMatch(/^Metadata (is not valid JSON|must be a JSON object)/);
    }
    expect((await call("GET", `/v1/users/${user.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).body.metadata).toEqual({ a: 1 });
  });

  it("what a member may not do is not offered, and a crafted post gets the API's refusal", async () => {
    const { tenant, owner } = await createTenant();
    const email = `member@${tenant.slug}.test`;
    await createUser(tenant.id, { email, password: "member-password-1" });
    const { cookie } = await consoleSession(tenant.slug, email, "member-password-1");
    const users = await (await browse("/console/users", { cookie })).text();
    expect(users).not.toContain("New user");
    const crafted = await browse(`/console/users/${owner.id}/status`, { cookie, form: { active: "false" } });
    expect(crafted.status).toBe(404);
    const keys = await browse("/console/api-keys", { cookie, form: { name: "sneaky", roles: "owner" } });
    expect(keys.status).toBe(403);
    expect(alertOf(await keys.text())).toMatch(/api_keys:write/);
    expect((await call("GET", `/v1/users/${owner.id}`, { token: PLATFORM_KEY, tenant: tenant.id })).body.is_active).toBe(true);
    expect((await call("GET", "/v1/api-keys", { token: PLATFORM_KEY, tenant: tenant.id })).body.items).toEqual([]);
  });

  it("a delete streams its progress page and ends with the outcome; the users are gone", async () => {
    const { tenant, owner, ownerPassword } = await createTenant();
    const manager = await createUser(tenant.id, { email: `mgr@${tenant.slug}.test`, password: "manager-pass-1", first_name: "Mia", last_name: "Manager" });
    const token = (await call("POST", "/v1/auth/token", { body: { tenant: tenant.slug, email: manager.email, password: "manager-pass-1" } })).body.access_token;
    const kid = (await call("POST", "/v1/users/me/managed-users", { token, body: { first_name: "Kid", last_name: "One" } })).body;
    const { cookie } = await consoleSession(tenant.slug, owner.email, ownerPassword);
    const confirm = await (await browse(`/console/users/${manager.id}/delete`, { cookie })).text();
    expect(confirm).toContain("the 1 user they manage");
    const res = await browse(`/console/users/${manager.id}/delete`, { cookie, form: { etag: "" } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.indexOf("<progress")).toBeLessThan(html.indexOf("Mia Manager was deleted."));
    expect(html).toMatch(/<meta http-equiv="refresh" content="1;url=\/console\/users\?notice=deleted/);
    for (const id of [manager.id, kid.id]) expect((await call("GET", `/v1/users/${id}`, { token: PLATFORM_KEY, tenant: tenant.id })).status).toBe(404);
  });
});

describe("console webhooks page", () => {
  it("says plainly that webhooks are not available exactly when the API answers 404", async () => {
    const { tenant, owner, ownerPassword, ownerToken } = await createTenant();
    const { cookie } = await consoleSession(tenant.slug, owner.email, ownerPassword);
    const res = await browse("/console/webhooks", { cookie });
    expect(res.status).toBe(200);
    const html = await res.text();
    const api = await call("GET", "/v1/webhooks", { token: ownerToken });
    expect(html.includes("Webhooks are not available on this deployment")).toBe(api.status === 404);
  });
});
