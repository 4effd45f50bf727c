// The reference for sign-in: what one scrypt hash costs at the default parameters of
// src/sign-in/password.ts (N=2^15, r=8, p=3, 32-byte key), measured two ways:
//  - in Node (node:crypto, OpenSSL), and
//  - in workerd (node:crypto under nodejs_compat, the implementation the worker really runs),
//    by a throw-away probe worker that is not part of the app. Timers inside a Worker do not
//    advance during synchronous work, so the probe is timed from outside: one request hashing
//    once minus one request hashing zero times, the median over several tries.
import { scrypt } from "node:crypto";
import { performance } from "node:perf_hooks";

export const SCRYPT_DEFAULT = { N: 2 ** 15, r: 8, p: 3, keyLength: 32 };
const maxmem = (N, r) => 256 * N * r + 1024 * 1024;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median milliseconds of one scrypt in this Node process. */
export async function scryptInNode({ N, r, p, keyLength } = SCRYPT_DEFAULT, tries = 7) {
  const times = [];
  for (let i = 0; i < tries; i++) {
    const started = performance.now();
    await new Promise((resolve, reject) =>
      scrypt("correct horse battery", "0123456789abcdef", keyLength, { N, r, p, maxmem: maxmem(N, r) }, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    times.push(performance.now() - started);
  }
  return median(times);
}

const PROBE = `
import { scrypt } from "node:crypto";
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") ?? "1");
    const N = Number(url.searchParams.get("N")), r = Number(url.searchParams.get("r")), p = Number(url.searchParams.get("p"));
    for (let i = 0; i < n; i++) {
      await new Promise((resolve, reject) =>
        scrypt("correct horse battery", "0123456789abcdef", 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 },
          (e) => (e ? reject(e) : resolve())));
    }
    return new Response("ok");
  },
};`;

/**
 * One scrypt inside workerd against one real sign-in, measured in interleaved pairs so both see
 * the same machine load (this machine is shared; a hash measured a minute apart can differ by a
 * third). Each try times: a sign-in (`signInOnce`, one request to the app), a probe request that
 * hashes once, and a probe request that hashes zero times. Medians over the tries.
 */
export async function signInAgainstHash(Miniflare, signInOnce, { N, r, p } = SCRYPT_DEFAULT, tries = 11) {
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: [{ type: "ESModule", path: "probe.mjs", contents: PROBE }],
    compatibilityDate: "2026-04-01",
    compatibilityFlags: ["nodejs_compat"],
    logRequests: false,
  });
  try {
    const base = await mf.ready;
    const timed = async (fn) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };
    const probe = (n) => async () => {
      const response = await fetch(new URL(`/?n=${n}&N=${N}&r=${r}&p=${p}`, base));
      await response.text();
      if (!response.ok) throw new Error(`scrypt probe answered ${response.status}`);
    };
    await probe(1)(); // warm-up: compile, first allocation
    await signInOnce();
    const signIns = [];
    const one = [];
    const zero = [];
    for (let i = 0; i < tries; i++) {
      signIns.push(await timed(signInOnce));
      one.push(await timed(probe(1)));
      zero.push(await timed(probe(0)));
    }
    const hash = median(one) - median(zero);
    return { signIn: median(signIns), hash, ratio: median(signIns) / hash, tries };
  } finally {
    await mf.dispose();
  }
}
