// Paired A/B of two checkouts of userplane: the CPU workerd spends per request, rounds interleaved.
//
//   node scripts/bench/paired.mjs <dirA> <dirB> [create_user|auth_read] [rounds=8] [seconds=3]
//
// Throughput on this shared machine drifts by ±10% from one minute to the next, more than most
// single changes are worth; CPU time per request of both builds, measured in alternating rounds
// against the same load, compares them under the same conditions. Each build gets its own
// workerd (pinned to CPU 0, the load generator to the rest, like ../shared/bench), a tenant and
// 1,000 users made through the API. Prints the median of the per-round ratios B/A.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { buildWorker, startServer } from "./server.mjs";

const [dirA, dirB, scenario = "create_user", rounds = "8", seconds = "3"] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error("usage: node scripts/bench/paired.mjs <dirA> <dirB> [create_user|auth_read] [rounds] [seconds]");
  process.exit(2);
}
const PASSWORD = "correct horse battery staple";

/** PIDs of this process's children named workerd (Linux /proc). */
function workerdChildren() {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        return comm === "workerd" && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** User plus system CPU of `pids`, in ms (clock ticks of 10 ms). */
const cpuMs = (pids) =>
  pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + (Number(fields[11]) + Number(fields[12])) * 10;
  }, 0);

async function start(dir, tag) {
  const root = resolve(dir);
  const out = `/tmp/userplane-paired-${tag}`;
  const scriptPath = buildWorker(root, join(out, "build"));
  const platformKey = `up_paired_${randomBytes(16).toString("hex")}`;
  const known = new Set(workerdChildren());
  const server = await startServer({ root, scriptPath, stateDir: join(out, "state"), platformKey });
  const pids = workerdChildren().filter((p) => !known.has(p));
  for (const pid of pids) execFileSync("taskset", ["-a", "-cp", "0", String(pid)]);
  const base = String(server.url).replace(/\/$/, "");
  const call = async (method, path, body, token) => {
    const res = await fetch(base + path, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body && JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${tag}: ${method} ${path} → ${res.status} ${await res.text()}`);
    return res.json();
  };
  const slug = `paired-${randomBytes(3).toString("hex")}`;
  await call("POST", "/v1/tenants", { slug, name: "Paired", owner: { email: "owner@paired.test", password: PASSWORD } }, platformKey);
  const { access_token: token } = await call("POST", "/v1/auth/token", { tenant: slug, email: "owner@paired.test", password: PASSWORD });
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, k) => call("POST", "/v1/users", { email: `seed.${i + k}@paired.test`, last_name: `Seed ${i + k}` }, token)));
  }
  return { tag, base, token, pids, dispose: server.dispose };
}

let seq = 0;
const nonce = randomBytes(3).toString("hex");
const requests = {
  create_user: (t) => ({
    method: "POST",
    path: "/v1/users",
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
    body: JSON.stringify({ email: `new.${nonce}.${++seq}@paired.test`, first_name: "New", last_name: `User ${seq}` }),
  }),
  auth_read: (t) => ({ method: "GET", path: "/v1/users/me", headers: { authorization: `Bearer ${t.token}` } }),
};
if (!requests[scenario]) throw new Error(`unknown scenario ${scenario}`);

const load = (t, duration) =>
  new Promise((done, fail) =>
    autocannon({ url: t.base, connections: 16, duration, requests: [{ setupRequest: (r) => ({ ...r, ...requests[scenario](t) }) }] }, (err, out) =>
      err ? fail(err) : done(out),
    ),
  );

const median = (xs) => xs.slice().sort((x, y) => x - y)[xs.length >> 1];
const a = await start(dirA, "a");
const b = await start(dirB, "b");
try {
  await load(a, 2);
  await load(b, 2);
  const perRequest = { a: [], b: [] };
  let bad = 0;
  for (let r = 0; r < Number(rounds); r++) {
    for (const t of r % 2 ? [b, a] : [a, b]) {
      const before = cpuMs(t.pids);
      const out = await load(t, Number(seconds));
      perRequest[t.tag].push((cpuMs(t.pids) - before) / out.requests.total);
      bad += out.non2xx + out.errors;
    }
  }
  const ratios = perRequest.a.map((x, i) => perRequest.b[i] / x);
  console.log(`${scenario}: A ${median(perRequest.a).toFixed(3)} ms CPU per request, B ${median(perRequest.b).toFixed(3)}`);
  console.log(`B/A per round: ${ratios.map((x) => x.toFixed(2)).join(" ")}; median ${median(ratios).toFixed(3)}; non-2xx or errors ${bad}`);
} finally {
  await a.dispose();
  await b.dispose();
}
