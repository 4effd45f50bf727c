// BENCHMARKS.md and the latency-vs-size chart (hand-written SVG, log-x axis) from the results.

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const sizeLabel = (n) => (n >= 1000 && n % 1000 === 0 ? `${(n / 1000).toLocaleString("en-US")}k` : String(n));

const CHART_SERIES = [
  { id: "list", label: "list first page", color: "#1f77b4", dash: "" },
  { id: "deep", label: "deep page (cursor)", color: "#d62728", dash: "" },
  { id: "page", label: "page 1 + total", color: "#ff7f0e", dash: "" },
  { id: "search", label: "search (5 matches)", color: "#2ca02c", dash: "" },
  { id: "floor", label: "floor (/healthz, 1 query)", color: "#9467bd", dash: "4 3" },
  { id: "jwks", label: "no D1 (JWKS)", color: "#7f7f7f", dash: "4 3" },
];

/** A small line chart: p50 latency (ms) against tenant size on a log axis. */
export function latencyChart(results) {
  const width = 720;
  const height = 420;
  const m = { left: 64, right: 200, top: 40, bottom: 56 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const sizes = results.map((r) => r.size);
  const values = results.flatMap((r) => CHART_SERIES.map((s) => scenario(r, s.id)?.p50)).filter(Number.isFinite);
  const yMax = niceCeiling(Math.max(1, ...values) * 1.1);
  const [lo, hi] = [Math.log10(Math.min(...sizes)), Math.log10(Math.max(...sizes))];
  const pad = hi === lo ? 0.5 : 0.08 * (hi - lo);
  const x = (size) => m.left + ((Math.log10(size) - (lo - pad)) / (hi - lo + 2 * pad)) * plotW;
  const y = (ms) => m.top + plotH - (ms / yMax) * plotH;

  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${m.left}" y="22" font-size="15" font-weight="600">p50 latency against tenant size (16 connections)</text>`);
  // Grid and y axis.
  for (let i = 0; i <= 5; i++) {
    const v = (yMax / 5) * i;
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 8}" y="${y(v) + 4}" text-anchor="end">${trimNumber(v)}</text>`);
  }
  parts.push(`<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">p50 latency (ms)</text>`);
  // X axis: one tick per measured size (log scale).
  parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`);
  for (const size of sizes) {
    parts.push(`<line x1="${x(size)}" x2="${x(size)}" y1="${m.top + plotH}" y2="${m.top + plotH + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x(size)}" y="${m.top + plotH + 20}" text-anchor="middle">${size.toLocaleString("en-US")}</text>`);
  }
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">users in the tenant (log scale)</text>`);
  // Series.
  CHART_SERIES.forEach((series, index) => {
    const points = results
      .map((r) => [r.size, scenario(r, series.id)?.p50])
      .filter(([, v]) => Number.isFinite(v));
    if (points.length === 0) return;
    const path = points.map(([s, v], i) => `${i ? "L" : "M"}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dash ? ` stroke-dasharray="${series.dash}"` : ""}/>`);
    for (const [s, v] of points) {
      parts.push(`<circle cx="${x(s).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${series.color}"><title>${series.label}, ${s.toLocaleString("en-US")} users: ${fmt(v, 2)} ms</title></circle>`);
    }
    const ly = m.top + 10 + index * 22;
    const lx = m.left + plotW + 20;
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="2"${series.dash ? ` stroke-dasharray="${series.dash}"` : ""}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}">${series.label}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function niceCeiling(v) {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= v) return step * magnitude;
  return 10 * magnitude;
}
const trimNumber = (v) => String(Number(v.toFixed(2)));
const scenario = (result, id) => result.scenarios.find((s) => s.id === id);

function sizeTable(result) {
  const rows = [
    "| scenario | conns | req/s | p50 ms | p99 ms | non-2xx | errors |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const s of result.scenarios) {
    const deep = `page ${result.deepPage.toLocaleString("en-US")}`;
    const label = s.id === "deep" ? s.label.replace("deep page", deep) : s.id === "page-deep" ? s.label.replace("page=…", `page=${result.deepPage}`) : s.label;
    rows.push(`| ${label} | ${s.connections} | ${int(s.rps)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${s.non2xx} | ${s.errors} |`);
  }
  // Say what went wrong where anything did: status codes of non-2xx answers, kinds of client errors.
  const notes = [];
  for (const s of result.scenarios) {
    if (s.non2xx > 0) {
      const codes = {};
      for (const round of s.statuses) for (const [code, n] of Object.entries(round)) if (code < 200 || code >= 300) codes[code] = (codes[code] ?? 0) + n;
      notes.push(`- ${s.short}: non-2xx statuses ${JSON.stringify(codes)}`);
    }
    if (s.errors > 0) notes.push(`- ${s.short}: connection errors ${JSON.stringify(s.errorKinds ?? {})}`);
  }
  if (notes.length) rows.push("", ...notes);
  return rows.join("\n");
}

function p50Table(results) {
  const head = `| scenario (p50 ms) | ${results.map((r) => `${r.size.toLocaleString("en-US")} users`).join(" | ")} |`;
  const rule = `|---|${results.map(() => "---:").join("|")}|`;
  const ids = results[0]?.scenarios.map((s) => [s.id, s.short]) ?? [];
  const rows = ids.map(([id, short]) => `| ${short} | ${results.map((r) => fmt(scenario(r, id)?.p50, 2)).join(" | ")} |`);
  return [head, rule, ...rows].join("\n");
}

/** Each target of the issue, checked against the numbers; "not measured" when the run lacks it. */
export function verdicts(results, scrypt) {
  const bySize = (n) => results.find((r) => r.size === n);
  const out = [];
  for (const r of results) {
    const me = scenario(r, "me");
    for (const [id, name] of [["floor", "the floor (/healthz, one D1 query)"], ["jwks", "the route without D1 (JWKS)"]]) {
      const base = scenario(r, id);
      if (!base || !me) continue;
      const ratio = me.rps / base.rps;
      out.push({
        target: `Get self ≥ 0.7× the throughput of ${name} (${r.size.toLocaleString("en-US")} users)`,
        value: `${fmt(ratio, 2)}× (${int(me.rps)} / ${int(base.rps)} req/s)`,
        met: ratio >= 0.7,
      });
    }
  }
  for (const r of results) {
    const bad = r.scenarios.filter((s) => s.non2xx > 0).map((s) => `${s.short} (${s.non2xx})`);
    const dropped = r.scenarios.filter((s) => s.errors > 0).map((s) => `${s.short} (${s.errors})`);
    const requests = r.scenarios.reduce((sum, s) => sum + s.rounds.reduce((n, round) => n + round.requests, 0), 0);
    out.push({
      target: `No non-2xx answer (${r.size.toLocaleString("en-US")} users)`,
      value:
        (bad.length ? `in ${bad.join(", ")}` : "none") +
        (dropped.length
          ? `; connection errors (no answer at all): ${dropped.join(", ")} of ${requests.toLocaleString("en-US")} requests, listed under the size's table`
          : ""),
      met: bad.length === 0,
    });
  }
  const big = bySize(100_000);
  const small = bySize(1_000);
  if (big && scenario(big, "deep") && scenario(big, "list")) {
    const ratio = scenario(big, "deep").p50 / scenario(big, "list").p50;
    out.push({ target: "100,000 users: page 2,500 p50 ≤ 1.3× page 1 p50", value: `${fmt(ratio, 2)}×`, met: ratio <= 1.3 });
  } else {
    out.push({ target: "100,000 users: page 2,500 p50 ≤ 1.3× page 1 p50", value: "not measured", met: null });
  }
  if (big && small && scenario(big, "page") && scenario(small, "page")) {
    const ratio = scenario(big, "page").p50 / scenario(small, "page").p50;
    out.push({ target: "Page 1 with total p50 at 100,000 users ≤ 1.3× its p50 at 1,000", value: `${fmt(ratio, 2)}×`, met: ratio <= 1.3 });
  } else {
    out.push({ target: "Page 1 with total p50 at 100,000 users ≤ 1.3× its p50 at 1,000", value: "not measured", met: null });
  }
  if (big && small && scenario(big, "search") && scenario(small, "search")) {
    const ratio = scenario(big, "search").p50 / scenario(small, "search").p50;
    out.push({ target: "Search p50 at 100,000 users ≤ 2× its p50 at 1,000", value: `${fmt(ratio, 2)}×`, met: ratio <= 2 });
  } else {
    out.push({ target: "Search p50 at 100,000 users ≤ 2× its p50 at 1,000", value: "not measured", met: null });
  }
  for (const r of results) {
    if (!r.scrypt) continue;
    out.push({
      target: `Sign-in p50 ≤ 1.2× one scrypt hash in workerd (${r.size.toLocaleString("en-US")} users, interleaved pairs)`,
      value: `${fmt(r.scrypt.signIn, 0)} ms / ${fmt(r.scrypt.hash, 0)} ms = ${fmt(r.scrypt.ratio, 2)}×`,
      met: r.scrypt.ratio <= 1.2,
    });
  }
  return out;
}

const mark = (met) => (met === null ? "not measured" : met ? "met" : "**not met**");

export function benchmarksMarkdown({ results, scrypt, machine, code, settings, command, date, chartPath, durationSeconds, stateNote }) {
  const lines = [];
  lines.push("# Benchmarks", "");
  lines.push(
    "Written by `npm run bench` (scripts/bench.mjs). The worker is built with `wrangler deploy --dry-run`",
    "and run in workerd through Miniflare's API (the engine under `wrangler dev` and the test pool, without",
    "`wrangler dev`'s per-query proxy cost), listening on 127.0.0.1 with its own fresh state directory",
    `(${stateNote}). One tenant per size is created through the API; its users are seeded straight into D1.`,
    "[autocannon](https://github.com/mcollina/autocannon) drives it from the same machine.",
    "",
  );
  lines.push(`- Date: ${date}; code: ${code}`);
  lines.push(`- Command: \`${command}\` (whole run: ${fmt(durationSeconds / 60, 1)} min)`);
  lines.push(
    `- Load: ${settings.connections} connections (sign-in also at 1), ${settings.warmup} s warm-up then ${settings.rounds} rounds of ${settings.duration} s per scenario; each figure is the median of the rounds, non-2xx and errors are summed over them.`,
  );
  lines.push(
    `- Machine: ${machine.cpus} CPUs (nproc), ${machine.cpuModel}, ${machine.memory} memory, ${machine.os}; Node ${machine.node}; workerd ${machine.workerd} (miniflare ${machine.miniflare}, wrangler ${machine.wrangler}). The load generator and workerd share these CPUs.`,
    "",
  );

  lines.push("## Latency against tenant size", "", `![p50 latency against tenant size](${chartPath})`, "");
  lines.push(p50Table(results), "");

  for (const r of results) {
    lines.push(`## ${r.size.toLocaleString("en-US")} users`, "");
    lines.push(`Seeded in ${fmt(r.seedSeconds, 1)} s. Deep page: page ${r.deepPage.toLocaleString("en-US")} of 20.`, "");
    lines.push(sizeTable(r), "");
  }

  lines.push("## Sign-in against one scrypt hash", "");
  lines.push(
    "Default parameters of src/sign-in/password.ts: N=2^15, r=8, p=3, 32-byte key. The hash is timed in workerd",
    "(node:crypto under nodejs_compat, the code the worker runs) by a throw-away probe worker over HTTP: a",
    "request hashing once minus one hashing zero times (timers inside a Worker stand still during synchronous",
    "work). Because this machine is shared and its speed drifts, each size measures one sign-in and one hash",
    "in interleaved pairs, one request at a time, and compares the medians.",
    "",
    "| users | pairs | sign-in p50 ms | one hash ms | ratio |",
    "|---:|---:|---:|---:|---:|",
    ...results
      .filter((r) => r.scrypt)
      .map((r) => `| ${r.size.toLocaleString("en-US")} | ${r.scrypt.tries} | ${fmt(r.scrypt.signIn, 0)} | ${fmt(r.scrypt.hash, 0)} | ${fmt(r.scrypt.ratio, 2)}× |`),
    "",
    `For comparison, one hash in Node ${machine.node} (node:crypto) before the runs: ${fmt(scrypt.node, 0)} ms.`,
    "",
  );

  lines.push("## How to read it", "");
  lines.push(
    "- **req/s** is the throughput of the whole worker at that concurrency; **p50/p99** are per-request latencies measured by the client (from each response's own timer, not autocannon's whole-millisecond histogram). **non-2xx** must be 0: a failing scenario is measuring an error path. **errors** are requests that got no answer at all (a reset connection, a timeout), counted by the load generator.",
    "- **floor** is `GET /healthz`: the trivial route of the same worker that makes the one D1 call every authenticated read must make (a bare `SELECT 1`, no authentication). Get self against the floor shows what the worker adds to that call: token verification, the session check and the user read riding in the same batch, and the JSON answer.",
    "- **no D1** is `GET /.well-known/jwks.json`, served from the isolate's key cache: routing and middleware alone. In this runtime one D1 call costs more CPU than that whole request (Miniflare's local D1 is a Durable Object answering JSON over an internal fetch, in the same process and on the same CPUs), so no route that must read D1 can come near it here; the gap is the local database, not the worker.",
    "- **deep page** is page 2,500 of 20 at 100,000 users (the last full page of a smaller tenant), reached with a `next_cursor` the API issued: keyset pagination should cost what page 1 costs.",
    "- **page 1 + total** and **deep page + total** are page mode (`page`, `page_size=20`), the answer with `total`: the total reads the per-tenant counters (a few rows), so page 1 should stay flat as the tenant grows; the deep page (page 2,500 at 100,000 users, the last full page of a smaller one) walks the index entries before it with OFFSET (the sort indexes hold live users only, so it reads no table row it skips), so it grows with the page number, unlike the cursor's deep page.",
    "- **search** matches 5 users (last name `Zyxwvut`): it should stay flat as the tenant grows.",
    "- **create user** and **merge patch** are writes (one D1 batch each). Create sends no password: hashing is measured by sign-in.",
    "- **sign-in** is CPU-bound: an isolate runs one scrypt at a time, so at 16 connections callers queue and p50 ≈ 16 × one hash; the 1-connection row is the latency of one sign-in; the section above compares it with one hash.",
    "- Reads run before writes, so every read is measured at the seeded size.",
    "- D1 round trips per request are asserted by the test suite (`npm test`), not by this bench. In production each D1 call is a network round trip; here it is a local SQLite call, so these numbers show CPU cost and query plans, not production latency.",
    "",
  );
  lines.push("Targets of issue #6 on this run:", "");
  lines.push("| target | value | |", "|---|---|---|");
  for (const v of verdicts(results, scrypt)) lines.push(`| ${v.target} | ${v.value} | ${mark(v.met)} |`);
  lines.push("");
  return lines.join("\n");
}

export { sizeLabel };
