import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { countTrips, fetchWithD1, watchD1 } from "./d1-counter";
import { api, call, createTenant, userWithToken } from "./helpers";
import { SELF_CACHE_TTL_MS } from "../src/users/self-cache";
import { BOOKMARK_HEADER } from "../src/db/bookmark";

/*
 * GET /v1/users/me is served from the isolate for up to a second (src/users/self-cache.ts):
 * what it may serve, and everything that makes it read D1 again.
 */

const me = (token: string, headers: Record<string, string> = {}) =>
  new Request("http://userplane.test/v1/users/me", { headers: { Authorization: `Bearer ${token}`, ...headers } });

async function member() {
  const f = await createTenant();
  const m = await userWithToken(f.tenant.id, { email: "m@x.test", first_name: "Ann" });
  return { f, ...m };
}

/** A first read (from D1, 1 trip) that leaves the entry the next read may be served from. */
async function primed(token: string) {
  const first = await countTrips(me(token));
  expect([first.res.status, first.trips]).toEqual([200, 1]);
  return first.res;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("GET /v1/users/me from the isolate's cache", () => {
  it("a repeated read costs no round trip and answers the same body, ETag and bookmark", async () => {
    const { token, user } = await member();
    const first = await primed(token);
    const again = await countTrips(me(token));
    expect(again.trips).toBe(0);
    expect(again.res.status).toBe(200);
    expect(await again.res.clone().json()).toEqual(await first.json());
    expect(again.res.headers.get("ETag")).toBe(first.headers.get("ETag"));
    expect(again.res.headers.get(BOOKMARK_HEADER)).toBeTruthy();
    expect(again.res.headers.get(BOOKMARK_HEADER)).toBe(first.headers.get(BOOKMARK_HEADER));
    expect(((await again.res.clone().json()) as { id: string }).id).toBe(user.id);
  });

  it("a patch of oneself is seen by the very next read", async () => {
    const { token } = await member();
    await primed(token);
    const patched = await call("PATCH", "/v1/users/me", { token, body: { first_name: "Bea" } });
    expect(patched.status).toBe(200);
    const after = await countTrips(me(token));
    expect(after.trips).toBe(1);
    expect(((await after.res.json()) as { first_name: string }).first_name).toBe("Bea");
  });

  it("a revoke, a deactivation or a delete by someone else is a 401 on the very next read", async () => {
    for (const end of [
      (f: { ownerToken: string }, id: string) => call("DELETE", `/v1/users/${id}/sessions`, { token: f.ownerToken }),
      (f: { ownerToken: string }, id: string) => call("PATCH", `/v1/users/${id}`, { token: f.ownerToken, body: { is_active: false } }),
      (f: { ownerToken: string }, id: string) => call("DELETE", `/v1/users/${id}`, { token: f.ownerToken }),
    ]) {
      const { f, token, user } = await member();
      await primed(token);
      expect((await end(f, user.id)).status).toBeLessThan(300);
      const after = await countTrips(me(token));
      expect(after.res.status).toBe(401);
      expect(after.trips).toBe(1);
    }
  });

  it("a role granted to the caller shows at once", async () => {
    const { f, token, user } = await member();
    await primed(token);
    const granted = await call("PATCH", `/v1/users/${user.id}`, { token: f.ownerToken, body: { roles: ["member", "admin"] } });
    expect(granted.status).toBe(200);
    const after = await countTrips(me(token));
    expect(((await after.res.json()) as { roles: string[] }).roles).toEqual(["admin", "member"]);
  });

  it("a bookmark sent back, or Cache-Control: no-cache, reads D1", async () => {
    const { token } = await member();
    const first = await primed(token);
    const bookmark = first.headers.get(BOOKMARK_HEADER)!;
    for (const headers of <Record<string, string>[]>[
      { [BOOKMARK_HEADER]: bookmark },
      { "Cache-Control": "no-cache" },
      { "Cache-Control": "max-age=0" },
      { "Cache-Control": "private, no-store" },
    ]) {
      const fresh = await countTrips(me(token, headers));
      expect([fresh.res.status, fresh.trips], JSON.stringify(headers)).toEqual([200, 1]);
    }
    // A directive that does not ask for freshness leaves the cache in use.
    const cached = await countTrips(me(token, { "Cache-Control": "max-age=60" }));
    expect(cached.trips).toBe(0);
  });

  it("a read answered before a write ends is not kept", async () => {
    const { token } = await member();
    // The read reaches D1 first; a patch then runs start to end before its row comes back.
    const slowRead = watchD1(env.DB, {
      async run(_sql, _method, send) {
        const row = await send();
        expect((await call("PATCH", "/v1/users/me", { token, body: { first_name: "Cy" } })).status).toBe(200);
        return row;
      },
    });
    const during = await fetchWithD1(me(token), slowRead);
    expect(((await during.json()) as { first_name: string }).first_name).toBe("Ann");
    const after = await countTrips(me(token));
    expect(after.trips).toBe(1);
    expect(((await after.res.json()) as { first_name: string }).first_name).toBe("Cy");
  });

  it("a read made while a write is on its way is not kept", async () => {
    const { token } = await member();
    // The patch's batch waits while a read of the user as it still is comes and goes.
    let readDuring: string | undefined;
    const slowWrite = watchD1(env.DB, {
      async batch(_method, _args, send) {
        const during = await countTrips(me(token));
        readDuring = ((await during.res.json()) as { first_name: string }).first_name;
        return send();
      },
    });
    const patch = new Request("http://userplane.test/v1/users/me", {
      method: "PATCH",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ first_name: "Di" }),
    });
    expect((await fetchWithD1(patch, slowWrite)).status).toBe(200);
    expect(readDuring).toBe("Ann");
    const after = await countTrips(me(token));
    expect(after.trips).toBe(1);
    expect(((await after.res.json()) as { first_name: string }).first_name).toBe("Di");
  });

  it("a change this isolate did not make is seen once the entry is a second old", async () => {
    const { token, user } = await member();
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    vi.setSystemTime(start);
    await primed(token);
    // As another isolate would: straight to D1, past this isolate's fence.
    await env.DB.prepare("UPDATE users SET first_name = 'Dee' WHERE id = ?").bind(user.id).run();
    vi.setSystemTime(start + SELF_CACHE_TTL_MS - 1);
    const stale = await countTrips(me(token));
    expect([stale.trips, ((await stale.res.json()) as { first_name: string }).first_name]).toEqual([0, "Ann"]);
    vi.setSystemTime(start + SELF_CACHE_TTL_MS);
    const fresh = await countTrips(me(token));
    expect([fresh.trips, ((await fresh.res.json()) as { first_name: string }).first_name]).toEqual([1, "Dee"]);
  });

  it("a session that expires is a 401 at its expiry, however fresh the entry", async () => {
    const { token } = await member();
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    vi.setSystemTime(start);
    const sid = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid as string;
    const expiresAt = new Date(start + 300).toISOString();
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?").bind(expiresAt, sid).run();
    await primed(token);
    vi.setSystemTime(start + 299);
    expect((await countTrips(me(token))).trips).toBe(0);
    vi.setSystemTime(start + 300);
    const expired = await countTrips(me(token));
    expect([expired.res.status, expired.trips]).toEqual([401, 1]);
  });

  it("a refusal is never kept: a 401 is read afresh each time", async () => {
    const { f, token, user } = await member();
    await call("DELETE", `/v1/users/${user.id}/sessions`, { token: f.ownerToken });
    for (let i = 0; i < 2; i++) {
      const refused = await countTrips(me(token));
      expect([refused.res.status, refused.trips]).toEqual([401, 1]);
    }
    expect((await api("GET", "/v1/users/me", { token })).status).toBe(401);
  });
});
