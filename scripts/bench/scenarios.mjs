// The bench scenarios and the autocannon runner. Each scenario describes one kind of request; the
// runner warms it up, then measures it for a number of rounds and keeps the median.
import autocannon from "autocannon";
import { FIRST_NAMES_FOR_PATCH } from "./fixture.mjs";
import { call } from "./http.mjs";

/**
 * Scenario list, in run order: reads first and writes last, so every read is measured at the
 * seeded tenant size (create user adds users; sign-in adds sessions).
 * `request(ctx)` returns autocannon request options; `connections` overrides the default.
 */
export const SCENARIOS = [
  {
    id: "jwks",
    short: "no D1 (JWKS)",
    label: "no D1 call: GET /.well-known/jwks.json",
    note: "served from the isolate's key cache: routing and middleware alone",
    request: () => ({ method: "GET", path: "/.well-known/jwks.json" }),
  },
  {
    id: "floor",
    short: "floor (one D1 query)",
    label: "floor: GET /healthz",
    note: "SELECT 1 and nothing else: the least any route that reads D1 can cost in this runtime",
    request: () => ({ method: "GET", path: "/healthz" }),
  },
  {
    id: "me",
    short: "get self",
    label: "get self: GET /v1/users/me",
    request: (ctx) => ({ method: "GET", path: "/v1/users/me", headers: auth(ctx) }),
  },
  {
    id: "by-id",
    short: "get by id",
    label: "get by id: GET /v1/users/{id}",
    note: "rotates over 1,000 seeded users",
    request: (ctx) => {
      let i = 0;
      return {
        method: "GET",
        path: `/v1/users/${ctx.sampleIds[0]}`,
        headers: auth(ctx),
        setupRequest: (req) => ({ ...req, path: `/v1/users/${ctx.sampleIds[i++ % ctx.sampleIds.length]}` }),
      };
    },
  },
  {
    id: "list",
    short: "list page 1",
    label: "list first page: GET /v1/users?limit=20",
    request: (ctx) => ({ method: "GET", path: "/v1/users?limit=20", headers: auth(ctx) }),
  },
  {
    id: "deep",
    short: "deep page",
    label: "list deep page by cursor: GET /v1/users?limit=20&cursor=…",
    note: "page 2,500 (or the last full page of a smaller tenant), with a cursor the API issued",
    request: (ctx) => ({
      method: "GET",
      path: `/v1/users?limit=20&cursor=${encodeURIComponent(ctx.deepCursor)}`,
      headers: auth(ctx),
    }),
  },
  {
    id: "page",
    short: "page 1 + total",
    label: "page mode, first page with total: GET /v1/users?page=1&page_size=20",
    note: "the total comes from the per-tenant counters, not a count of the tenant",
    request: (ctx) => ({ method: "GET", path: "/v1/users?page=1&page_size=20", headers: auth(ctx) }),
  },
  {
    id: "page-deep",
    short: "deep page + total",
    label: "page mode, deep page with total: GET /v1/users?page=…&page_size=20",
    note: "page 2,500 (or the last full page of a smaller tenant): OFFSET walks the pages before it",
    request: (ctx) => ({ method: "GET", path: `/v1/users?page=${ctx.deepPage}&page_size=20`, headers: auth(ctx) }),
  },
  {
    id: "search",
    short: "search",
    label: "search: GET /v1/users?search=Zyxwvut",
    note: "matches 5 users",
    request: (ctx) => ({ method: "GET", path: `/v1/users?search=${ctx.searchTerm}`, headers: auth(ctx) }),
  },
  {
    id: "patch",
    short: "merge patch",
    label: "merge patch: PATCH /v1/users/{id}",
    note: "application/merge-patch+json, first_name, rotating over 1,000 seeded users",
    request: (ctx) => {
      let i = 0;
      const body = () => JSON.stringify({ first_name: FIRST_NAMES_FOR_PATCH[i % FIRST_NAMES_FOR_PATCH.length] });
      return {
        method: "PATCH",
        path: `/v1/users/${ctx.sampleIds[0]}`,
        headers: { ...auth(ctx), "content-type": "application/merge-patch+json" },
        body: body(),
        setupRequest: (req) => {
          const path = `/v1/users/${ctx.sampleIds[i % ctx.sampleIds.length]}`;
          const next = { ...req, path, body: body() };
          i++;
          return next;
        },
      };
    },
  },
  {
    id: "create",
    short: "create user",
    label: "create user: POST /v1/users",
    note: "unique email and username per request, no password (the hash is measured by sign-in)",
    request: (ctx) => {
      const body = () => {
        const n = ctx.nextCreate();
        return JSON.stringify({
          email: `bench.${ctx.runTag}.${n}@create.example`,
          username: `bench.${ctx.runTag}.${n}`,
          first_name: "Bench",
          last_name: `Created${n}`,
        });
      };
      return {
        method: "POST",
        path: "/v1/users",
        headers: { ...auth(ctx), "content-type": "application/json" },
        body: body(),
        setupRequest: (req) => ({ ...req, body: body() }),
      };
    },
  },
  {
    id: "signin",
    short: "sign-in ×16",
    label: "sign-in: POST /v1/auth/token (16 connections)",
    note: "CPU-bound: the isolate runs one scrypt at a time, so 16 callers queue",
    // A fixed number of requests instead of a time window: each takes about 16 hashes, so a
    // 10-second window would only count the first wave and drop the ones still in flight.
    amountPerConnection: 3,
    timeout: 120,
    request: (ctx) => signIn(ctx),
  },
  {
    id: "signin-1",
    short: "sign-in ×1",
    label: "sign-in: POST /v1/auth/token (1 connection)",
    note: "the latency of one sign-in, to compare with one scrypt hash",
    connections: 1,
    timeout: 60,
    request: (ctx) => signIn(ctx),
  },
];

function auth(ctx) {
  return { authorization: `Bearer ${ctx.token}` };
}

function signIn(ctx) {
  return {
    method: "POST",
    path: "/v1/auth/token",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ tenant: ctx.tenantSlug, email: ctx.signInEmail, password: ctx.signInPassword }),
  };
}

const percentile = (sorted, q) => {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
};

/**
 * One autocannon run. Latencies are taken from each response's own high-resolution time (the
 * summary histogram of autocannon rounds to whole milliseconds, too coarse here).
 */
export async function runOnce(base, requestOptions, { connections, duration, amount, timeout = 10 }) {
  const latencies = [];
  const statuses = {};
  const instance = autocannon({
    url: String(base),
    connections,
    ...(amount ? { amount } : { duration }),
    timeout,
    pipelining: 1,
    requests: [requestOptions],
  });
  const errorKinds = {};
  instance.on("reqError", (error) => {
    const kind = error?.code ?? error?.message ?? String(error);
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const non2xx = Object.entries(statuses)
    .filter(([code]) => Number(code) < 200 || Number(code) >= 300)
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    rps: result.requests.total / result.duration,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    requests: result.requests.total,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    errorKinds,
  };
}

/** Waits until requests left in flight when a run stopped are done, so they do not weigh on the next. */
async function drain(base) {
  await call(base, "GET", "/.well-known/jwks.json");
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Warm-up, then `rounds` measured runs; the median of each figure, non-2xx and errors summed. */
export async function runScenario(base, scenario, ctx, { connections, duration, warmup, rounds }, log) {
  const conns = scenario.connections ?? connections;
  const options = { connections: conns, timeout: scenario.timeout ?? 10 };
  const perConnection = scenario.amountPerConnection;
  if (warmup > 0) {
    await runOnce(base, scenario.request(ctx), { ...options, duration: warmup, amount: perConnection && conns });
    await drain(base);
  }
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    const run = await runOnce(base, scenario.request(ctx), { ...options, duration, amount: perConnection && perConnection * conns });
    await drain(base);
    runs.push(run);
    log(
      `    round ${round}: ${run.rps.toFixed(1)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, ` +
        `non-2xx ${run.non2xx}, errors ${run.errors}` +
        (run.non2xx ? ` ${JSON.stringify(run.statuses)}` : "") +
        (run.errors ? ` ${JSON.stringify(run.errorKinds)}` : ""),
    );
  }
  return {
    id: scenario.id,
    short: scenario.short,
    label: scenario.label,
    note: scenario.note,
    connections: options.connections,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0), // autocannon counts timeouts among errors
    statuses: runs.map((r) => r.statuses),
    errorKinds: runs.reduce((all, r) => {
      for (const [kind, n] of Object.entries(r.errorKinds)) all[kind] = (all[kind] ?? 0) + n;
      return all;
    }, {}),
    rounds: runs,
  };
}
