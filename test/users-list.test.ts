import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, call, createTenant, createUser, expectProblem, PLATFORM_KEY, userWithToken } from "./helpers";

interface Item {
  id: string;
  username: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  created_at: string;
  last_login_at: string | null;
  is_active: boolean;
  is_managed: boolean;
  manager_id: string | null;
  roles: string[];
}

const ids = (items: Item[]) => items.map((u) => u.id);

/** A tenant with users that differ in every sortable and filterable field. */
async function directory() {
  const f = await createTenant();
  const t = f.tenant.id;
  const specs = [
    { email: "delta@x.test", username: "Delta", first_name: "dora", last_name: "Zed", roles: ["admin"] },
    { email: "alpha@x.test", username: "alpha", first_name: "Al", last_name: "yates" },
    { email: "Charlie@x.test", first_name: "carl", is_active: false },
    { email: "bravo@x.test", username: "bravo_1", last_name: "Xu", roles: ["admin", "member"] },
    { username: "echo", first_name: "Eve", last_name: "west", is_active: false },
    { email: "foxtrot@x.test", username: "fox.trot", first_name: "Fay", last_name: "V%o" },
    { external_id: "ext-golf", first_name: "Gus" },
  ];
  const users = [];
  for (const spec of specs) users.push(await createUser(t, spec));
  // Sign-in times (no route sets them in this issue): two users signed in, at different times.
  const login = (id: string, at: string) =>
    env.DB.prepare("UPDATE users SET last_login_at = ? WHERE tenant_id = ? AND id = ?").bind(at, t, id).run();
  await login(users[1]!.id, "2026-03-01T10:00:00.000Z");
  await login(users[4]!.id, "2026-01-01T10:00:00.000Z");
  return { ...f, users, opts: { token: PLATFORM_KEY, tenant: t } };
}

async function list(query: string, opts: { token: string; tenant?: string }) {
  const res = await call("GET", `/v1/users${query ? `?${query}` : ""}`, opts);
  if (res.status !== 200) throw new Error(`GET /v1/users?${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { items: Item[]; next_cursor: string | null; previous_cursor: string | null; total?: number; page?: number; page_size?: number };
}

/** Follows next_cursor from the first page; returns every page. */
async function walkForward(query: string, opts: { token: string; tenant?: string }, between?: (page: number) => Promise<void>) {
  const pages: Awaited<ReturnType<typeof list>>[] = [];
  let page = await list(query, opts);
  pages.push(page);
  while (page.next_cursor) {
    if (between) await between(pages.length);
    page = await list(`${query}&cursor=${encodeURIComponent(page.next_cursor)}`, opts);
    pages.push(page);
    if (pages.length > 200) throw new Error("runaway pagination");
  }
  return pages;
}

/** Follows previous_cursor from a page back to the first; returns the items in list order. */
async function walkBackward(from: Awaited<ReturnType<typeof list>>, query: string, opts: { token: string; tenant?: string }) {
  let items = [...from.items];
  let page = from;
  let guard = 0;
  while (page.previous_cursor) {
    page = await list(`${query}&cursor=${encodeURIComponent(page.previous_cursor)}`, opts);
    items = [...page.items, ...items];
    if (++guard > 200) throw new Error("runaway pagination");
  }
  return items;
}

/** The order the contract promises, computed in JS: the SQL expressions mirrored field by field. */
function expectedOrder(items: Item[], sort: string): string[] {
  const terms = sort.split(",").map((s) => ({ field: s.replace(/^-/, ""), desc: s.startsWith("-") }));
  if (!terms.some((t) => t.field === "id")) terms.push({ field: "id", desc: terms.at(-1)!.desc });
  const key = (u: Item, field: string): string | number => {
    switch (field) {
      case "is_active":
        return u.is_active ? 1 : 0;
      case "id":
      case "created_at":
        return u[field];
      case "last_login_at":
        return u.last_login_at ?? "";
      default:
        return (u[field as "username"] ?? "").toLowerCase();
    }
  };
  return [...items]
    .sort((a, b) => {
      for (const t of terms) {
        const x = key(a, t.field);
        const y = key(b, t.field);
        if (x !== y) return (x < y ? -1 : 1) * (t.desc ? -1 : 1);
      }
      return 0;
    })
    .map((u) => u.id);
}

describe("GET /v1/users: sort", () => {
  const SORTS = [
    "id",
    "-id",
    "username",
    "-username",
    "email",
    "-email",
    "first_name",
    "-first_name",
    "last_name",
    "-last_name",
    "created_at",
    "-created_at",
    "last_login_at",
    "-last_login_at",
    "is_active",
    "-is_active",
    "is_active,-username",
    "-is_active,last_name,-created_at",
    "last_login_at,email",
  ];

  it("orders by every field, ascending and descending, and by several fields, in both modes", async () => {
    const { opts } = await directory();
    const all = (await list("page=1&page_size=100", opts)).items;
    expect(all).toHaveLength(8);
    for (const sort of SORTS) {
      const expected = expectedOrder(all, sort);
      const page = await list(`sort=${sort}&page=1&page_size=100`, opts);
      expect(ids(page.items), `page mode, sort=${sort}`).toEqual(expected);
      const walked = (await walkForward(`sort=${sort}&limit=3`, opts)).flatMap((p) => p.items);
      expect(ids(walked), `cursor mode, sort=${sort}`).toEqual(expected);
    }
  });

  it("defaults to created_at,id", async () => {
    const { opts } = await directory();
    const all = (await list("", opts)).items;
    expect(ids(all)).toEqual(expectedOrder(all, "created_at,id"));
  });

  it("an unknown, repeated or malformed sort field is a 422", async () => {
    const { opts } = await directory();
    for (const sort of ["password_hash", "username,username", "-", "username,", "metadata", "u.id;DROP TABLE users"]) {
      const problem = await expectProblem(await api("GET", `/v1/users?sort=${encodeURIComponent(sort)}`, opts), 422, "validation_failed");
      expect(problem.errors![0]!.path).toBe("sort");
    }
  });
});

describe("GET /v1/users: filters and search", () => {
  it("filters by is_active, is_managed, username, email, role and manager_id", async () => {
    const { opts, users, tenant, owner } = await directory();
    const manager = await userWithToken(tenant.id, { email: "manager@x.test" });
    const child = await call("POST", "/v1/users/me/managed-users", { token: manager.token, body: { first_name: "Kid", last_name: "One" } });
    expect(child.status).toBe(201);

    const q = async (query: string) => ids((await list(`${query}&limit=100`, opts)).items).sort();
    const sorted = (xs: string[]) => [...xs].sort();
    expect(await q("is_active=false")).toEqual(sorted([users[2]!.id, users[4]!.id]));
    expect(await q("is_active=0")).toEqual(sorted([users[2]!.id, users[4]!.id]));
    expect((await q("is_active=true")).length).toBe(8);
    expect(await q("is_managed=true")).toEqual([child.body.id]);
    expect((await q("is_managed=false")).includes(child.body.id)).toBe(false);
    expect(await q(`manager_id=${manager.user.id}`)).toEqual([child.body.id]);
    expect(await q(`manager_id=${owner.id}`)).toEqual([]);
    expect(await q("username=DELTA")).toEqual([users[0]!.id]);
    expect(await q("username=FOX.TROT")).toEqual([users[5]!.id]);
    expect(await q("username=bravo_1")).toEqual([users[3]!.id]);
    expect(await q("username=bravoX1")).toEqual([]);
    expect(await q("username=bravo%25")).toEqual([]);
    expect(await q("email=CHARLIE@X.TEST")).toEqual([users[2]!.id]);
    expect(await q("email=charlie")).toEqual([]);
    expect(await q("role=admin")).toEqual(sorted([users[0]!.id, users[3]!.id]));
    expect(await q("role=owner")).toEqual([owner.id]);
    expect(await q("role=nobody")).toEqual([]);
    expect(await q("role=admin&is_active=true&search=bravo")).toEqual([users[3]!.id]);
  });

  it("search is a case-insensitive substring of username, names or email; % and _ are literal", async () => {
    const { opts, users } = await directory();
    const q = async (term: string) => ids((await list(`search=${encodeURIComponent(term)}&limit=100`, opts)).items).sort();
    expect(await q("ALPH")).toEqual([users[1]!.id]);
    expect(await q("dor")).toEqual([users[0]!.id]);
    expect(await q("YATES")).toEqual([users[1]!.id]);
    expect(await q("charlie@")).toEqual([users[2]!.id]);
    expect(await q("%")).toEqual([users[5]!.id]);
    expect(await q("V%O")).toEqual([users[5]!.id]);
    expect(await q("x%t")).toEqual([]);
    expect(await q("v%")).toEqual([users[5]!.id]);
    expect(await q("_")).toEqual([users[3]!.id]);
    expect(await q("o_1")).toEqual([users[3]!.id]);
    expect(await q("b_a")).toEqual([]);
    expect(await q("nothing-like-this")).toEqual([]);
  });

  it("a term of one or two characters ignores case beyond A–Z too, as a longer one does", async () => {
    const f = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: f.tenant.id };
    const olaf = await createUser(f.tenant.id, { email: "o@x.test", first_name: "Ölaf" });
    const emile = await createUser(f.tenant.id, { email: "e@x.test", last_name: "émile" });
    const q = async (term: string) => ids((await list(`search=${encodeURIComponent(term)}&limit=100`, opts)).items).sort();
    for (const term of ["ö", "Ö", "öl", "ÖL", "Öl", "öla", "ÖLA"]) expect(await q(term), term).toEqual([olaf.id]);
    for (const term of ["É", "éM", "Émi"]) expect(await q(term), term).toEqual([emile.id]);
    expect(await q("ö_")).toEqual([]);
  });

  it("bad filter values are 422 naming the parameter", async () => {
    const { opts } = await directory();
    for (const query of ["is_active=yes", "is_managed=2", "include_managed=maybe", `search=${"s".repeat(201)}`, `role=${"r".repeat(65)}`]) {
      const problem = await expectProblem(await api("GET", `/v1/users?${query}`, opts), 422, "validation_failed");
      expect(problem.errors![0]!.path).toBe(query.split("=")[0]);
    }
  });
});

describe("GET /v1/users: pagination", () => {
  it("page mode returns total, page and page_size; pages partition the list", async () => {
    const { opts } = await directory();
    const all = ids((await list("page=1&page_size=100&sort=email", opts)).items);
    const seen: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const body = await list(`page=${page}&page_size=3&sort=email`, opts);
      expect(body).toMatchObject({ total: 8, page, page_size: 3 });
      expect(body.next_cursor).toBeNull(); // the cursor fields are there, empty: page mode issues no cursors
      expect(body.previous_cursor).toBeNull();
      seen.push(...ids(body.items));
    }
    expect(seen).toEqual(all);
    const beyond = await list("page=9&page_size=3", opts);
    expect(beyond).toMatchObject({ items: [], total: 8, page: 9, page_size: 3 });
    const onlyPage = await list("page=1", opts);
    expect(onlyPage).toMatchObject({ total: 8, page: 1, page_size: 20 });
    const onlySize = await list("page_size=2", opts);
    expect(onlySize).toMatchObject({ page: 1, page_size: 2 });
  });

  it("page mode's total counts what the filters match", async () => {
    const { opts } = await directory();
    expect((await list("page=1&page_size=1&is_active=false", opts)).total).toBe(2);
    expect((await list("page=1&page_size=1&search=x.test", opts)).total).toBe(5);
  });

  it("cursor mode: limit defaults to 20; the first page has no previous_cursor and the last no next_cursor", async () => {
    const { tenant, opts } = await directory();
    for (let i = 0; i < 14; i++) await createUser(tenant.id, { email: `bulk${i}@x.test` });
    const first = await list("", opts);
    expect(first.items).toHaveLength(20);
    expect(first.previous_cursor).toBeNull();
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await list(`cursor=${first.next_cursor}`, opts);
    expect(second.items).toHaveLength(2);
    expect(second.next_cursor).toBeNull();
    expect(second.previous_cursor).toEqual(expect.any(String));
    const exact = await list("limit=22", opts);
    expect(exact.items).toHaveLength(22);
    expect(exact.next_cursor).toBeNull();
  });

  it("walking forward and then backward covers every item exactly once, in order", async () => {
    const { opts } = await directory();
    for (const sort of ["created_at", "-username", "last_login_at,-email"]) {
      const expected = ids((await list(`sort=${sort}&page=1&page_size=100`, opts)).items);
      for (const limit of [1, 3, 8]) {
        const pages = await walkForward(`sort=${sort}&limit=${limit}`, opts);
        const forward = pages.flatMap((p) => ids(p.items));
        expect(forward, `forward sort=${sort} limit=${limit}`).toEqual(expected);
        expect(pages.at(-1)!.next_cursor).toBeNull();
        const backward = await walkBackward(pages.at(-1)!, `sort=${sort}&limit=${limit}`, opts);
        expect(ids(backward), `backward sort=${sort} limit=${limit}`).toEqual(expected);
      }
    }
  });

  it("cursors keep their place among names with capitals beyond A–Z (sorted as SQLite folds them)", async () => {
    const f = await createTenant();
    const opts = { token: PLATFORM_KEY, tenant: f.tenant.id };
    const names = ["Zoé", "Émile", "Éva", "émile", "Ölaf", "ana", "Ärmin", "zed"];
    for (const [i, first_name] of names.entries()) await createUser(f.tenant.id, { email: `n${i}@x.test`, first_name, last_name: first_name });
    for (const sort of ["first_name", "-last_name"]) {
      const all = (await list(`sort=${sort}&page=1&page_size=100`, opts)).items;
      // SQLite's lower() folds A–Z only: "Émile" sorts after "zed", apart from "émile".
      const folded = (u: Item) => (u.first_name ?? "").replace(/[A-Z]/g, (ch) => ch.toLowerCase());
      const byKey = [...all].sort((a, b) => (folded(a) === folded(b) ? (a.id < b.id ? -1 : 1) : folded(a) < folded(b) ? -1 : 1));
      expect(ids(all), sort).toEqual(ids(sort.startsWith("-") ? byKey.reverse() : byKey));
      expect(all).toHaveLength(names.length + 1); // and the tenant's owner
      for (const limit of [1, 2, 3]) {
        const pages = await walkForward(`sort=${sort}&limit=${limit}`, opts);
        expect(pages.flatMap((p) => ids(p.items)), `forward sort=${sort} limit=${limit}`).toEqual(ids(all));
        const backward = await walkBackward(pages.at(-1)!, `sort=${sort}&limit=${limit}`, opts);
        expect(ids(backward), `backward sort=${sort} limit=${limit}`).toEqual(ids(all));
      }
    }
  });

  it("a previous page's next_cursor leads forward again to the same page", async () => {
    const { opts } = await directory();
    const p1 = await list("limit=3&sort=username", opts);
    const p2 = await list(`limit=3&sort=username&cursor=${p1.next_cursor}`, opts);
    const back = await list(`limit=3&sort=username&cursor=${p2.previous_cursor}`, opts);
    expect(ids(back.items)).toEqual(ids(p1.items));
    expect(back.previous_cursor).toBeNull();
    const again = await list(`limit=3&sort=username&cursor=${back.next_cursor}`, opts);
    expect(ids(again.items)).toEqual(ids(p2.items));
  });

  it("stays correct under concurrent inserts: no duplicates, no skipped pre-existing rows", async () => {
    const { tenant, opts } = await directory();
    // Descending by username: the first page is fox.trot and echo, so every later cursor sits
    // below "zz…" (rows inserted there are behind the reader) and above "a…" and "d…".
    const before = ids((await list("page=1&page_size=100&sort=-username", opts)).items);
    let n = 0;
    // Inserts between the first few page fetches (more would outrun a reader that is behind them).
    const insertAround = async (page: number) => {
      if (page > 4) return;
      await createUser(tenant.id, { username: `zz${n}-behind`, email: `behind${n}@x.test` });
      await createUser(tenant.id, { username: `a${n}-ahead`, email: `ahead${n}@x.test` });
      await createUser(tenant.id, { username: `d${n}-mid`, email: `mid${n}@x.test` });
      n++;
    };
    const pages = await walkForward("sort=-username&limit=2", opts, insertAround);
    const seen = pages.flatMap((p) => ids(p.items));
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
    const seenNames = pages.flatMap((p) => p.items.map((u) => u.username ?? ""));
    expect(seenNames.filter((u) => u.endsWith("-behind"))).toEqual([]);
    expect(seenNames.filter((u) => u.endsWith("-ahead")).length).toBeGreaterThan(0);
    const walkedOrder = pages.flatMap((p) => p.items);
    expect(ids(walkedOrder)).toEqual(expectedOrder(walkedOrder, "-username"));

    // The default order (newest last) sees the new rows at the end, each once.
    const byCreation = (await walkForward("limit=3", opts, insertAround)).flatMap((p) => ids(p.items));
    expect(new Set(byCreation).size).toBe(byCreation.length);
    for (const id of before) expect(byCreation).toContain(id);
  });

  it("walking backward under concurrent inserts: no duplicates, no skipped pre-existing rows", async () => {
    const { tenant, opts } = await directory();
    const pages = await walkForward("sort=-email&limit=2", opts);
    const before = pages.flatMap((p) => ids(p.items));
    let page = pages.at(-1)!;
    const seen = ids(page.items);
    let k = 0;
    while (page.previous_cursor) {
      await createUser(tenant.id, { email: `${"a".repeat(k + 1)}-back@x.test` });
      await createUser(tenant.id, { email: `zz${k}-back@x.test` });
      k++;
      page = await list(`sort=-email&limit=2&cursor=${page.previous_cursor}`, opts);
      seen.unshift(...ids(page.items));
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
  });

  it("mixing pagination modes is a 422", async () => {
    const { opts } = await directory();
    const first = await list("limit=2", opts);
    for (const query of ["limit=2&page=1", "limit=2&page_size=2", `cursor=${first.next_cursor}&page=2`, `cursor=${first.next_cursor}&page_size=5`]) {
      const problem = await expectProblem(await api("GET", `/v1/users?${query}`, opts), 422, "validation_failed");
      expect(problem.errors!.length).toBeGreaterThanOrEqual(2);
    }
    // Named with the query's other bad fields, in the one 422.
    const cases: [string, string[]][] = [
      ["limit=2&page=1&search=%01", ["limit", "page", "search"]],
      ["limit=0&page_size=2&sort=nope", ["limit", "page_size", "sort"]],
      ["page=1&cursor=x&is_active=maybe", ["cursor", "is_active", "page"]],
    ];
    for (const [query, paths] of cases) {
      const problem = await expectProblem(await api("GET", `/v1/users?${query}`, opts), 422, "validation_failed");
      expect([...new Set(problem.errors!.map((e) => e.path))].sort(), query).toEqual(paths);
    }
    for (const path of ["/v1/tenants", "/v1/events", "/v1/roles", "/v1/api-keys", "/v1/webhooks", "/v1/users/me/shares"]) {
      const problem = await expectProblem(await api("GET", `${path}?limit=abc&page=1`, { token: PLATFORM_KEY }), 422, "validation_failed");
      expect([...new Set(problem.errors!.map((e) => e.path))].sort(), path).toEqual(["limit", "page"]);
    }
  });

  it("limit and page_size must be whole numbers from 1 to 5000; page from 1", async () => {
    const { opts } = await directory();
    for (const query of [
      "limit=0",
      "limit=5001",
      "limit=-1",
      "limit=abc",
      "limit=1.5",
      "limit=1e3",
      "limit=",
      "limit=99999999999999999999",
      "page_size=0",
      "page_size=5001",
      "page_size=-5",
      "page=0",
      "page=-1",
      "page=x",
    ]) {
      const problem = await expectProblem(await api("GET", `/v1/users?${query}`, opts), 422, "validation_failed");
      expect(problem.errors![0]!.path, query).toBe(query.split("=")[0]);
    }
    expect((await list("limit=5000", opts)).items).toHaveLength(8);
    expect((await list("page_size=5000", opts)).page_size).toBe(5000);
  });

  it("a cursor keeps its filters and sort: reusing it with others is a 422 invalid_cursor", async () => {
    const { opts } = await directory();
    const first = await list("limit=2&sort=username&is_active=true", opts);
    const cursor = encodeURIComponent(first.next_cursor!);
    expect((await list(`limit=2&sort=username&is_active=true&cursor=${cursor}`, opts)).items).toHaveLength(2);
    expect((await list(`limit=2&is_active=true&cursor=${cursor}`, opts)).items).toHaveLength(2);
    for (const query of [
      `limit=2&sort=email&is_active=true&cursor=${cursor}`,
      `limit=2&sort=username&cursor=${cursor}`,
      `limit=2&sort=username&is_active=false&cursor=${cursor}`,
      `limit=2&sort=username&is_active=true&search=a&cursor=${cursor}`,
    ]) {
      await expectProblem(await api("GET", `/v1/users?${query}`, opts), 422, "invalid_cursor");
    }
  });

  it("a cursor may change its limit between pages", async () => {
    const { opts } = await directory();
    const first = await list("limit=2", opts);
    const next = await list(`limit=5&cursor=${first.next_cursor}`, opts);
    expect(next.items).toHaveLength(5);
  });
});
