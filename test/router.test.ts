import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import { CachedTrieRouter } from "../src/lib/router";

describe("CachedTrieRouter", () => {
  const app = () => {
    const a = new Hono({ router: new CachedTrieRouter() });
    a.use("*", async (c, next) => {
      await next();
      c.res.headers.set("X-Mw", "1");
    });
    a.post("/users/import", (c) => c.text("import"));
    a.post("/users/:id/resets", (c) => c.text(`resets ${c.req.param("id")}`));
    a.get("/users/:id", (c) => c.text(`user ${c.req.param("id")}`));
    a.get("/users/me", (c) => c.text("never: /users/:id was registered first"));
    return a;
  };

  it("answers a path seen before exactly as the first time, params included", async () => {
    const a = app();
    for (let i = 0; i < 3; i++) {
      const one = await a.request("/users/u1");
      expect([await one.text(), one.headers.get("X-Mw")]).toEqual(["user u1", "1"]);
      expect(await (await a.request("/users/u2")).text()).toBe("user u2");
      expect(await (await a.request("/users/import", { method: "POST" })).text()).toBe("import");
      expect(await (await a.request("/users/u3/resets", { method: "POST" })).text()).toBe("resets u3");
      // Same path, other method: its own answer (no route: 404).
      expect((await a.request("/users/u1", { method: "DELETE" })).status).toBe(404);
    }
    expect(await (await a.request("/users/me")).text()).toBe("user me");
  });

  it("keeps a bounded number of answers, and forgets them when a route is added", async () => {
    const router = new CachedTrieRouter<string>();
    router.add("GET", "/users/:id", "user");
    for (let i = 0; i < 5_000; i++) router.match("GET", `/users/u${i}`);
    expect(router.cachedAnswers).toBe(2_000);
    // The oldest answers are gone, the newest kept; either way the answer is right.
    expect(router.match("GET", "/users/u1")[0].map(([h, p]) => [h, p])).toEqual([["user", { id: "u1" }]]);
    router.add("GET", "/users/:id", "second");
    expect(router.cachedAnswers).toBe(0);
    expect(router.match("GET", "/users/u4999")[0].map(([h]) => h)).toEqual(["user", "second"]);
  });
});
