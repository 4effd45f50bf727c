import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { countTrips } from "./d1-counter";
import { prng } from "../scripts/bench/seed.mjs";
import { createTenant, PLATFORM_KEY, tokenFor } from "./helpers";

/**
 * What a list request costs in rows read, the unit D1 bills and the measure of a scan: the sum of
 * `meta.rows_read` over every statement of the request, at 10,000 users.
 */
const USERS = 10_000;
const PAGE = 20;
/** Each filter of the test matches at least this share of the tenant, or is read by its own index. */
const SHARE = 0.2;
/**
 * The bound, for a page of PAGE items: ROWS_PER_ITEM × PAGE + PAGE / SHARE + FIXED.
 * - Per item the list reads its index entry and its row, the item's role grants and the caller's
 *   share of it: about four rows; six leaves room.
 * - A filter that matches SHARE of the tenant (one in five here) walks about PAGE / SHARE rows of
 *   the sort index to fill a page. Rarer filters (username, email, manager_id, search) are read
 *   through their own index instead.
 * - FIXED: the session check and the total, which reads at most four counter rows (or, for an
 *   uncounted filter, its own matches through its index).
 * A search also reads each of its trigram matches a few times (ROWS_PER_MATCH): its cost is
 * bounded by its matches, not by the tenant. A count of the tenant reads 10,000 rows and fails.
 */
const ROWS_PER_ITEM = 6;
const FIXED = 50;
const ROWS_PER_MATCH = 10;
const bound = (matches = 0) => ROWS_PER_ITEM * PAGE + PAGE / SHARE + FIXED + ROWS_PER_MATCH * matches;

const SORTS = ["id", "username", "email", "first_name", "last_name", "created_at", "last_login_at", "is_active"];

interface Seeded {
  tenantId: string;
  ownerToken: string;
  memberToken: string;
  /** A seeded manager who is not an admin (see memberWhoManages). */
  memberId: string;
  managerId: string;
  sampleUsername: string;
  sampleEmail: string;
}

const sqlText = (v: string | null) => (v === null ? "NULL" : `'${v.replaceAll("'", "''")}'`);

/**
 * 10,000 users in multi-row INSERTs straight into D1 (the triggers keep the counters as they go):
 * a fifth inactive, a fifth admins, a fifth managed by one of the first 100 users, a quarter with a
 * last sign-in; five carry the rare last name "Zyxwvut".
 */
async function seed(): Promise<Seeded> {
  const f = await createTenant();
  const t = f.tenant.id;
  const random = prng(20261201);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const base = Date.UTC(2025, 0, 1);
  const id = (i: number) => `usr_seed${String(i).padStart(6, "0")}${t.slice(-12)}`;
  const rows: string[] = [];
  const roles: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const at = new Date(base + i * 60_000).toISOString();
    const last = i % 2000 === 1000 ? "Zyxwvut" : pick(["Smith", "Garcia", "Tanaka", "Okafor", "Novak", "Rossi", "Kim", "Silva"]);
    const first = pick(["Ada", "Bruno", "Chen", "Dmitri", "Elena", "Farah", "Grace", "Hugo", "Ines"]);
    const manager = i >= 100 && random() < SHARE ? id(Math.floor(random() * 100)) : null;
    const inactive = random() < SHARE;
    const signedIn = random() < 0.25;
    rows.push(
      `(${sqlText(id(i))}, ${sqlText(t)}, ${sqlText(`user${i}`)}, ${sqlText(`user${i}@seed.test`)}, ${sqlText(first)}, ${sqlText(last)}, ` +
        `${inactive ? 0 : 1}, ${manager ? 1 : 0}, ${sqlText(manager)}, ${sqlText(at)}, ${sqlText(at)}, ${signedIn ? sqlText(at) : "NULL"})`,
    );
    roles.push(`(${sqlText(t)}, ${sqlText(id(i))}, 'member')`);
    if (random() < SHARE) roles.push(`(${sqlText(t)}, ${sqlText(id(i))}, 'admin')`);
  }
  const statements: D1PreparedStatement[] = [];
  const chunk = 250;
  for (let i = 0; i < rows.length; i += chunk) {
    statements.push(
      env.DB.prepare(
        "INSERT INTO users (id, tenant_id, username, email, first_name, last_name, is_active, is_managed, manager_id, created_at, updated_at, last_login_at) VALUES " +
          rows.slice(i, i + chunk).join(", "),
      ),
    );
  }
  for (let i = 0; i < roles.length; i += chunk) {
    statements.push(env.DB.prepare(`INSERT INTO user_roles (tenant_id, user_id, role) VALUES ${roles.slice(i, i + chunk).join(", ")}`));
  }
  for (let i = 0; i < statements.length; i += 20) await env.DB.batch(statements.slice(i, i + 20));
  const memberId = (await memberWhoManages(t))!;
  return {
    tenantId: t,
    ownerToken: f.ownerToken,
    memberToken: await tokenFor(t, memberId),
    memberId,
    managerId: id(0),
    sampleUsername: "USER4242",
    sampleEmail: "user4242@SEED.test",
  };
}

/** A seeded manager who is not an admin: sees themselves and their managed users only. */
async function memberWhoManages(tenantId: string) {
  const row = await env.DB.prepare(`SELECT m.id FROM users m WHERE m.tenant_id = ?1 AND m.is_active = 1
      AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ?1 AND u.manager_id = m.id)
      AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.tenant_id = ?1 AND r.user_id = m.id AND r.role = 'admin')
    ORDER BY m.id LIMIT 1`)
    .bind(tenantId)
    .first<{ id: string }>();
  return row?.id;
}

let s: Seeded;
beforeAll(async () => {
  s = await seed();
}, 120_000);

async function rowsRead(path: string, token: string) {
  const { res, rowsRead, statements, unmeasured, rowsByStatement } = await countTrips(
    new Request(`http://userplane.test${path}`, { headers: { Authorization: `Bearer ${token}` } }),
  );
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  // Every statement of the request reported what it read.
  expect(unmeasured, path).toBe(0);
  expect(statements, path).toBeGreaterThan(0);
  return { rowsRead, rowsByStatement, body: (await res.json()) as { items: unknown[]; total?: number } };
}

const MODES = [`limit=${PAGE}`, `page=1&page_size=${PAGE}`];

function filters(): string[] {
  return [
    "",
    "is_active=true",
    "is_active=false",
    "is_managed=false",
    "is_managed=true",
    "role=member",
    "role=admin",
    `username=${s.sampleUsername}`,
    `email=${encodeURIComponent(s.sampleEmail)}`,
    `manager_id=${s.managerId}`,
    "search=zyxwvut",
    "is_active=true&role=admin",
    "is_active=false&is_managed=false&role=member",
    `manager_id=${s.managerId}&is_active=true`,
    "search=zyxwvut&is_active=true",
  ];
}

describe(`rows read by page 1 of GET /v1/users at ${USERS.toLocaleString("en-US")} users`, () => {
  it(`every mode, sort and direction stays within ${ROWS_PER_ITEM} × page size + page size / ${SHARE} + ${FIXED} rows`, async () => {
    const over: string[] = [];
    for (const mode of MODES) {
      for (const sort of ["", ...SORTS.flatMap((f) => [f, `-${f}`])]) {
        const path = `/v1/users?${mode}${sort ? `&sort=${sort}` : ""}`;
        const { rowsRead: n, body } = await rowsRead(path, s.ownerToken);
        expect(body.items).toHaveLength(PAGE);
        if (mode.startsWith("page")) expect(body.total, path).toBe(USERS + 1);
        if (n > bound()) over.push(`${path}: ${n} rows`);
      }
    }
    expect(over).toEqual([]);
  });

  it("every filter, search, and some combinations, in both modes and both directions", async () => {
    const over: string[] = [];
    for (const mode of MODES) {
      for (const filter of filters()) {
        for (const sort of ["", "-created_at", "last_name", "-username"]) {
          const path = `/v1/users?${mode}${filter ? `&${filter}` : ""}${sort ? `&sort=${sort}` : ""}`;
          const { rowsRead: n } = await rowsRead(path, s.ownerToken);
          if (n > bound()) over.push(`${path}: ${n} rows`);
        }
      }
    }
    expect(over).toEqual([]);
  });

  it(`a search reads its trigram matches (at most ${ROWS_PER_MATCH} rows each), not the tenant`, async () => {
    const over: string[] = [];
    // 111 matches: user42, user420…user429, user4200…user4299.
    for (const mode of MODES) {
      for (const sort of ["", "-created_at", "last_name", "-username"]) {
        const path = `/v1/users?${mode}&search=user42${sort ? `&sort=${sort}` : ""}`;
        const { rowsRead: n, body } = await rowsRead(path, s.ownerToken);
        if (mode.startsWith("page")) expect(body.total).toBe(111);
        if (n > bound(111)) over.push(`${path}: ${n} rows`);
      }
    }
    expect(over).toEqual([]);
  });

  it("the totals are the exact counts", async () => {
    const total = async (q: string) => (await rowsRead(`/v1/users?page=1&page_size=${PAGE}&${q}`, s.ownerToken)).body.total;
    const truth = async (where: string) =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM users u WHERE u.tenant_id = ? AND ${where}`).bind(s.tenantId).first<{ n: number }>())!.n;
    expect(await total("is_active=false")).toBe(await truth("is_active = 0"));
    expect(await total("is_managed=true")).toBe(await truth("is_managed = 1"));
    expect(await total("role=admin&is_active=true")).toBe(
      await truth("is_active = 1 AND EXISTS (SELECT 1 FROM user_roles r WHERE r.tenant_id = u.tenant_id AND r.user_id = u.id AND r.role = 'admin')"),
    );
    expect(await total(`manager_id=${s.managerId}`)).toBe(await truth(`manager_id = '${s.managerId}'`));
    expect(await total("search=zyxwvut")).toBe(5);
  });

  it("a member without users:read: the page and the total read what they see, not the tenant", async () => {
    // What the member sees unfiltered: themselves and the users they manage (more than a few,
    // far fewer than the tenant). Every filter reads that set, whatever it keeps of it.
    const sees = await visibleCount("");
    expect(sees).toBeGreaterThan(1);
    expect(sees).toBeLessThan(100);
    const over: string[] = [];
    for (const mode of MODES) {
      for (const filter of ["", "is_active=true", "is_managed=true", "role=admin", "search=zyxwvut", "search=ad", "include_managed=false"]) {
        const visible = await visibleCount(filter);
        for (const sort of ["", "-created_at", "last_name", "-username"]) {
          const path = `/v1/users?${mode}${filter ? `&${filter}` : ""}${sort ? `&sort=${sort}` : ""}`;
          const { rowsRead: n, body } = await rowsRead(path, s.memberToken);
          if (mode.startsWith("page")) expect(body.total, path).toBe(visible);
          expect(body.items.length, path).toBe(Math.min(visible, PAGE));
          // The page and the total each read the visible set: its ids, their rows, grants and shares.
          if (n > bound(sees)) over.push(`${path}: ${n} rows`);
        }
      }
    }
    expect(over).toEqual([]);
  });
});

/** How many users the seeded member sees under `filter` (self and managed users; nobody shared with them). */
async function visibleCount(filter: string): Promise<number> {
  const where: string[] = [];
  if (filter === "is_active=true") where.push("u.is_active = 1");
  if (filter === "is_managed=true") where.push("u.is_managed = 1");
  if (filter === "role=admin") where.push("EXISTS (SELECT 1 FROM user_roles r WHERE r.tenant_id = u.tenant_id AND r.user_id = u.id AND r.role = 'admin')");
  if (filter === "search=zyxwvut") where.push("lower(u.last_name) LIKE '%zyxwvut%'");
  if (filter === "search=ad") where.push("(lower(u.first_name) LIKE '%ad%' OR lower(u.last_name) LIKE '%ad%' OR lower(u.username) LIKE '%ad%' OR lower(u.email) LIKE '%ad%')");
  const sees = filter === "include_managed=false" ? "u.id = ?2" : "(u.id = ?2 OR u.manager_id = ?2)";
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM users u WHERE u.tenant_id = ?1 AND ${sees} ${where.map((w) => `AND ${w}`).join(" ")}`)
    .bind(s.tenantId, s.memberId)
    .first<{ n: number }>();
  return row!.n;
}

describe("rows read by page 1 of the event feed and the tenant list", () => {
  it(`GET /v1/events at ${USERS.toLocaleString("en-US")} events, and GET /v1/tenants: the total reads a counter`, async () => {
    await env.DB.prepare(`WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?2)
      INSERT INTO events (id, tenant_id, type, data, created_at)
      SELECT 'evt_seed' || i || ?1, ?1, CASE WHEN i % 5 = 0 THEN 'user.updated' ELSE 'user.created' END, '{}', ?3 FROM k`)
      .bind(s.tenantId, USERS, new Date().toISOString())
      .run();
    for (const path of ["/v1/events?page=1&page_size=20", "/v1/events?page=1&page_size=20&type=user.updated"]) {
      const { rowsRead: n, body } = await rowsRead(path, s.ownerToken);
      expect(body.total, path).toBeGreaterThanOrEqual(path.includes("type") ? USERS / 5 : USERS);
      expect(n, path).toBeLessThanOrEqual(bound());
    }
    const { rowsRead: n, body } = await rowsRead("/v1/tenants?page=1&page_size=20", PLATFORM_KEY);
    expect(body.total).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(bound());
  });
});
