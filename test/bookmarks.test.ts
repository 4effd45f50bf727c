import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { issueBookmark } from "../src/db/bookmark";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY } from "./helpers";
import { watchD1 } from "./d1-counter";

const HEADER = "X-Userplane-Bookmark";
/** `<D1 bookmark>.<MAC>`; D1 bookmarks sort oldest first. */
const ISSUED = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}\.[A-Za-z0-9_-]{22}$/;
const d1Part = (bookmark: string) => bookmark.split(".")[0]!;

const firstName = async (id: string) =>
  (await env.DB.prepare("SELECT first_name FROM users WHERE id = ?").bind(id).first<{ first_name: string | null }>())?.first_name;

describe("X-Userplane-Bookmark", () => {
  it("is on every /v1 answer that read or wrote the database, errors included", async () => {
    const { tenant, ownerToken } = await createTenant();
    const answers = [
      await api("GET", "/v1/users/me", { token: ownerToken }),
      await api("POST", "/v1/users", { token: ownerToken, body: { email: "bm@example.test" } }),
      await api("GET", "/v1/users/usr_missing", { token: ownerToken }),
      await api("GET", "/v1/users?limit=1", { token: ownerToken }),
      await api("GET", `/v1/tenants/${tenant.id}`, { token: PLATFORM_KEY }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 201, 404, 200, 200]);
    expect(answers.map((r) => ISSUED.test(r.headers.get(HEADER) ?? ""))).toEqual(answers.map(() => true));
    // A write refused by its one statement (a duplicate: 409) learnt no newer state: it hands back the bookmark it was sent.
    const sent = answers[1]!.headers.get(HEADER)!;
    const duplicate = await api("POST", "/v1/users", { token: ownerToken, body: { email: "bm@example.test" }, headers: { [HEADER]: sent } });
    expect(duplicate.status).toBe(409);
    expect(d1Part(duplicate.headers.get(HEADER)!) >= d1Part(sent)).toBe(true);
  });

  it("sent back, it is accepted, and the answer's bookmark is at least as new", async () => {
    const { ownerToken } = await createTenant();
    const created = await api("POST", "/v1/users", { token: ownerToken, body: { email: "ryw@example.test" } });
    const afterWrite = created.headers.get(HEADER)!;
    const user = (await created.json()) as { id: string };

    const read = await api("GET", `/v1/users/${user.id}`, { token: ownerToken, headers: { [HEADER]: afterWrite } });
    expect(read.status).toBe(200);
    const afterRead = read.headers.get(HEADER)!;
    expect(afterRead).toMatch(ISSUED);
    expect(d1Part(afterRead) >= d1Part(afterWrite)).toBe(true);

    const patched = await api("PATCH", `/v1/users/${user.id}`, { token: ownerToken, headers: { [HEADER]: afterRead }, body: { first_name: "New" } });
    expect(patched.status).toBe(200);
    expect(d1Part(patched.headers.get(HEADER)!) > d1Part(afterRead)).toBe(true);
    expect(await firstName(user.id)).toBe("New");
  });

  it("one this service did not issue is a 422 naming the header, and nothing changes", async () => {
    const { tenant, ownerToken } = await createTenant();
    const user = await createUser(tenant.id, { email: "bad-bm@example.test", first_name: "Kept" });
    const good = (await api("GET", "/v1/users/me", { token: ownerToken })).headers.get(HEADER)!;
    const [d1, mac] = good.split(".") as [string, string];
    const foreign = issueBookmark({ ...env, BOOKMARK_SECRET: "another deployment" }, d1);
    const future = `ffffffff-ffffffff-ffffffff-ffffffffffffffffffffffffffffffff.${mac}`;
    for (const bad of ["garbage", d1, `${d1}.`, `${d1}.${mac.replace(/^./, mac[0] === "A" ? "B" : "A")}`, foreign, future, `${good} ${good}`]) {
      for (const [method, path, body] of [
        ["GET", "/v1/users/me", undefined],
        ["PATCH", `/v1/users/${user.id}`, { first_name: "Changed" }],
        ["DELETE", `/v1/users/${user.id}`, undefined],
      ] as const) {
        const res = await api(method, path, { token: ownerToken, headers: { [HEADER]: bad }, body });
        const problem = await expectProblem(res, 422, "validation_failed");
        expect(problem.errors, `${method} ${bad}`).toEqual([{ path: HEADER, message: expect.any(String), code: "invalid_bookmark" }]);
      }
    }
    expect(await firstName(user.id)).toBe("Kept");
  });

  it("an empty header is no bookmark", async () => {
    const { ownerToken } = await createTenant();
    const res = await api("GET", "/v1/users/me", { token: ownerToken, headers: { [HEADER]: "  " } });
    expect(res.status).toBe(200);
    expect(res.headers.get(HEADER)).toMatch(ISSUED);
  });

  it("JWKS, healthz, openapi and docs are unaffected: no bookmark out, none checked in", async () => {
    for (const path of ["/.well-known/jwks.json", "/healthz", "/openapi.json", "/docs"]) {
      const res = await api("GET", path, { headers: { [HEADER]: "garbage" } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get(HEADER), path).toBeNull();
    }
  });

  it("an answer that touched no database carries none", async () => {
    const res = await api("GET", "/v1/users/me");
    expect(res.status).toBe(401);
    expect(res.headers.get(HEADER)).toBeNull();
  });
});

describe("D1 sessions", () => {
  /** Sends a request through the app over a binding that records how each session starts. */
  async function sessionStarts(request: Request) {
    const starts: unknown[] = [];
    const DB = watchD1(env.DB, { session: (start) => starts.push(start) });
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const res = await createApp().fetch(request, { ...env, DB }, ctx);
    return { res, starts };
  }

  const request = (method: string, path: string, token: string, headers: Record<string, string> = {}, body?: unknown) =>
    new Request(`http://userplane.test${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });

  it("reads start anywhere (or at the bookmark sent); writes start at the primary", async () => {
    const { ownerToken } = await createTenant();
    const read = await sessionStarts(request("GET", "/v1/users/me", ownerToken));
    expect(read.res.status).toBe(200);
    expect(read.starts).toEqual(["first-unconstrained"]);

    const bookmark = read.res.headers.get(HEADER)!;
    const again = await sessionStarts(request("GET", "/v1/users/me", ownerToken, { [HEADER]: bookmark }));
    expect(again.starts).toEqual([d1Part(bookmark)]);

    for (const [method, path, body] of [
      ["POST", "/v1/users", { email: "primary@example.test" }],
      ["PATCH", "/v1/users/me", { first_name: "P" }],
    ] as const) {
      const write = await sessionStarts(request(method, path, ownerToken, { [HEADER]: bookmark }, body));
      expect(write.res.status, method).toBeLessThan(300);
      expect(write.starts).toEqual(["first-primary"]);
    }
    // Sign-in writes a session: the primary too.
    const signIn = await sessionStarts(
      new Request("http://userplane.test/v1/auth/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }),
    );
    expect(signIn.starts).toEqual(["first-primary"]);
  });

  it("a bookmarked read sees the write that issued the bookmark", async () => {
    const { ownerToken } = await createTenant();
    const patched = await call("PATCH", "/v1/users/me", { token: ownerToken, body: { first_name: "Written" } });
    const read = await call("GET", "/v1/users/me", { token: ownerToken, headers: { [HEADER]: patched.headers.get(HEADER)! } });
    expect(read.body.first_name).toBe("Written");
  });
});

describe("OpenAPI", () => {
  it("documents the bookmark on every /v1 operation (request and answers), and nowhere else", async () => {
    const doc = (await call("GET", "/openapi.json")).body as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string; description?: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> }>>;
      info: { description: string };
    };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const param = op.parameters?.find((p) => p.name === HEADER && p.in === "header");
        const answered = Object.values(op.responses).every((r) => r.headers?.[HEADER]);
        expect(!!param && answered, `${method} ${path}`).toBe(path.startsWith("/v1/"));
        if (param) expect(param.description).toContain(method === "get" ? "first-unconstrained" : "first-primary");
      }
    }
    expect(doc.info.description).toContain("csrf_failed");
    expect(doc.info.description).toContain("X-Userplane-Bookmark");
  });

  it("carries HMAC-SHA256 of D1's bookmark, truncated to 16 bytes, under the derived key, for many bookmarks in a row", async () => {
    // The MAC is computed in JS with a reused state; WebCrypto is the reference, so bookmarks
    // issued before and after any change to that code stay valid.
    const secret = new TextEncoder().encode(`userplane-bookmark-v1:${env.BOOTSTRAP_API_KEY}`);
    const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const reference = async (d1: string) => {
      const tag = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(d1))).slice(0, 16);
      return btoa(String.fromCharCode(...tag)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    };
    const { ownerToken } = await createTenant();
    for (let i = 0; i < 5; i++) {
      const issued = (await api("GET", "/v1/users/me", { token: ownerToken })).headers.get(HEADER)!;
      const [d1, tag] = issued.split(".") as [string, string];
      expect(tag).toBe(await reference(d1));
    }
    for (const d1 of ["00000000-00000001-00000000-00000000000000000000000000000000", "0000abcd-ffffffff-00000001-0123456789abcdef0123456789abcdef"]) {
      expect(issueBookmark(env, d1)).toBe(`${d1}.${await reference(d1)}`);
    }
  });
});
