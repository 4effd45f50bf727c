import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listedOrigins } from "../src/lib/origin";
import { api, call, createTenant, createUser, expectProblem } from "./helpers";

/** vitest.config.ts lists these in CORS_ORIGINS (with a "*" that must allow nothing). */
const APP = "https://app.example.test";
const ADMIN = "https://admin.example.test:8443";
const EVIL = "https://evil.example.test";
const OWN = "http://userplane.test";

const cookie = (token: string, headers: Record<string, string> = {}) => ({ headers: { Cookie: `token=${token}`, ...headers } });

const firstName = async (id: string) =>
  (await env.DB.prepare("SELECT first_name FROM users WHERE id = ?").bind(id).first<{ first_name: string | null }>())?.first_name;

const countUsers = async (tenantId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

describe("CSRF: cookie-authenticated changes", () => {
  it("from an unlisted origin: 403 csrf_failed, and the row is unchanged", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "csrf@example.test", first_name: "Before" });
    const patch = await api("PATCH", `/v1/users/${user.id}`, { ...cookie(ownerToken, { Origin: EVIL }), body: { first_name: "After" } });
    await expectProblem(patch, 403, "csrf_failed");
    expect(await firstName(user.id)).toBe("Before");

    const del = await api("DELETE", `/v1/users/${user.id}`, cookie(ownerToken, { Origin: EVIL }));
    await expectProblem(del, 403, "csrf_failed");
    expect(await firstName(user.id)).toBe("Before");

    const create = await api("POST", "/v1/users", { ...cookie(ownerToken, { Origin: EVIL }), body: { email: "new@example.test" } });
    await expectProblem(create, 403, "csrf_failed");
    expect(await countUsers(tenant.id)).toBe(2);
  });

  it("an empty-bodied cross-site form post issues nothing", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "form@example.test", password: "long-enough-1" });
    const form = await api("POST", `/v1/users/${user.id}/password-resets`, {
      ...cookie(ownerToken, { Origin: EVIL, "Content-Type": "application/x-www-form-urlencoded" }),
      body: "",
    });
    await expectProblem(form, 403, "csrf_failed");
    // No token was issued: a bearer request now gets one (a live token would make it a 409).
    const issued = await call("POST", `/v1/users/${user.id}/password-resets`, { token: ownerToken, body: {} });
    expect(issued.status).toBe(201);
  });

  it("from the service's own origin or a listed one: allowed", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "ok@example.test" });
    for (const [i, origin] of [OWN, APP, ADMIN].entries()) {
      const res = await call("PATCH", `/v1/users/${user.id}`, { ...cookie(ownerToken, { Origin: origin }), body: { first_name: `N${i}` } });
      expect(res.status, origin).toBe(200);
      expect(await firstName(user.id)).toBe(`N${i}`);
    }
  });

  it("reads with the cookie are not affected; an Authorization header never is", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "bearer@example.test" });
    expect((await call("GET", "/v1/users/me", cookie(ownerToken, { Origin: EVIL }))).status).toBe(200);
    const bearer = await call("PATCH", `/v1/users/${user.id}`, { token: ownerToken, headers: { Origin: EVIL }, body: { first_name: "Bearer" } });
    expect(bearer.status).toBe(200);
    expect(await firstName(user.id)).toBe("Bearer");
    // Both present: the Authorization header is the credential, so the cookie rule does not apply.
    const both = await call("PATCH", `/v1/users/${user.id}`, {
      token: ownerToken,
      ...cookie(ownerToken, { Origin: EVIL }),
      body: { first_name: "Both" },
    });
    expect(both.status).toBe(200);
  });

  it("without Origin: Sec-Fetch-Site same-origin or a trusted Referer passes; anything else, or nothing, is refused", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "no-origin@example.test", first_name: "Start" });
    const patch = (headers: Record<string, string>, name: string) =>
      api("PATCH", `/v1/users/${user.id}`, { ...cookie(ownerToken, headers), body: { first_name: name } });

    expect((await patch({ "Sec-Fetch-Site": "same-origin" }, "Fetch")).status).toBe(200);
    expect((await patch({ Referer: `${OWN}/console/users` }, "Ref")).status).toBe(200);
    expect((await patch({ Referer: `${APP}/page` }, "Listed")).status).toBe(200);
    expect(await firstName(user.id)).toBe("Listed");

    for (const headers of [
      {},
      { "Sec-Fetch-Site": "cross-site" },
      { "Sec-Fetch-Site": "same-site" },
      { "Sec-Fetch-Site": "cross-site", Referer: `${OWN}/` },
      { Referer: `${EVIL}/attack` },
      { Referer: "not a url" },
      { Origin: "null" },
      { Origin: EVIL, "Sec-Fetch-Site": "same-origin" },
    ] as Record<string, string>[]) {
      await expectProblem(await patch(headers, "Refused"), 403, "csrf_failed");
    }
    expect(await firstName(user.id)).toBe("Listed");
  });
});

describe("CORS", () => {
  it("a preflight from a listed origin: 204 with the contract's methods and headers", async () => {
    for (const origin of [APP, ADMIN]) {
      const res = await api("OPTIONS", "/v1/users", {
        headers: { Origin: origin, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization, if-match" },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe(origin);
      expect(res.headers.get("Access-Control-Allow-Methods")).toBe("GET, POST, PUT, PATCH, DELETE");
      expect(res.headers.get("Access-Control-Allow-Headers")).toBe(
        "Authorization, Content-Type, If-Match, Idempotency-Key, X-Tenant, X-Userplane-Bookmark, X-Request-Id",
      );
      expect(res.headers.get("Vary")).toMatch(/Origin/);
      expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    }
  });

  it("a preflight from an unlisted origin gets no CORS headers", async () => {
    for (const origin of [EVIL, "null", "*", "https://app.example.test.evil.test"]) {
      const res = await api("OPTIONS", "/v1/users", { headers: { Origin: origin, "Access-Control-Request-Method": "POST" } });
      const cors = [...res.headers.keys()].filter((h) => h.startsWith("access-control-"));
      expect(cors, origin).toEqual([]);
    }
  });

  it("answers to a listed origin name it, errors included, and expose the contract's headers", async () => {
    const { ownerToken } = await createTenant();
    const answers = [
      await api("GET", "/v1/users/me", { token: ownerToken, headers: { Origin: APP } }),
      await api("GET", "/v1/users/me", { headers: { Origin: APP } }),
      await api("GET", "/v1/users?limit=0", { token: ownerToken, headers: { Origin: APP } }),
      await api("GET", "/v1/nowhere", { headers: { Origin: APP } }),
      await api("POST", "/v1/users", { token: ownerToken, headers: { Origin: APP }, body: "{oops" }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 422, 404, 400]);
    for (const res of answers) {
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe(APP);
      expect(res.headers.get("Access-Control-Expose-Headers")).toBe("ETag, Link, Location, Retry-After, X-Request-Id, X-Userplane-Bookmark");
      expect(res.headers.get("Vary")).toMatch(/Origin/);
      expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    }
  });

  it("answers to an unlisted origin, or without one, carry no CORS headers (but Vary: Origin)", async () => {
    const { ownerToken } = await createTenant();
    for (const headers of [{ Origin: EVIL }, {}] as Record<string, string>[]) {
      const res = await api("GET", "/v1/users/me", { token: ownerToken, headers });
      expect(res.status).toBe(200);
      expect([...res.headers.keys()].filter((h) => h.startsWith("access-control-"))).toEqual([]);
      expect(res.headers.get("Vary")).toMatch(/Origin/);
    }
  });

  it("CORS_ORIGINS keeps origins only: a wildcard, null or a bare host allows nothing", () => {
    expect([...listedOrigins({ CORS_ORIGINS: " https://A.example.test/path , *, null, app.example.test, http://x.test:80 " })]).toEqual([
      "https://a.example.test",
      "http://x.test",
    ]);
    expect(listedOrigins({}).size).toBe(0);
  });
});
