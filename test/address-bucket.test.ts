import { afterEach, describe, expect, it, vi } from "vitest";
import { createTenant, signIn } from "./helpers";

/** LOGIN_IP_MAX_FAILURES of the test config; LOGIN_IP_REFILL_SECONDS is left at its default. */
const BURST = 20;
const REFILL_SECONDS = 864;

let ipCounter = 0;
/** A client address no other test uses, so address buckets never leak between tests. */
const freshIp = () => `192.0.2.${++ipCounter}`;

afterEach(() => {
  vi.useRealTimers();
});

/** A frozen clock the worker and its Durable Objects read (same isolate), moved only by `advance`. */
function frozenClock() {
  vi.useFakeTimers({ toFake: ["Date"] });
  let now = Date.UTC(2026, 0, 1, 12);
  vi.setSystemTime(now);
  return (seconds: number) => vi.setSystemTime((now += seconds * 1000));
}

/** Failed sign-ins from one address, each for a new unknown account (only the address counts). */
async function failures(tenant: string, ip: string, n: number) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await signIn(tenant, { email: `spray-${ip}-${crypto.randomUUID()}@x.test` }, "wrong", { "CF-Connecting-IP": ip });
    statuses.push(res.status);
  }
  return statuses;
}

async function refusal(tenant: string, ip: string) {
  const res = await signIn(tenant, { email: `late-${crypto.randomUUID()}@x.test` }, "wrong", { "CF-Connecting-IP": ip });
  expect(res.status).toBe(429);
  expect(res.body.code).toBe("rate_limited");
  return Number(res.headers.get("Retry-After"));
}

const ones = (n: number, status: number) => Array.from({ length: n }, () => status);

// Each case signs in 20–40 times; on a loaded machine that outlasts the default 30 s.
describe("the per-address sign-in budget is a token bucket", { timeout: 120_000 }, () => {
  it("allows a burst of LOGIN_IP_MAX_FAILURES, then 429 with Retry-After counting down to the next token", async () => {
    const { tenant } = await createTenant();
    const advance = frozenClock();
    const ip = freshIp();
    expect(await failures(tenant.id, ip, BURST)).toEqual(ones(BURST, 401));
    expect(await refusal(tenant.id, ip)).toBe(REFILL_SECONDS);
    advance(400);
    expect(await refusal(tenant.id, ip)).toBe(REFILL_SECONDS - 400);
    advance(REFILL_SECONDS - 400 - 1);
    expect(await refusal(tenant.id, ip)).toBe(1);
  });

  it("refills one attempt per period, not the whole budget after a window", async () => {
    const { tenant } = await createTenant();
    const advance = frozenClock();
    const ip = freshIp();
    await failures(tenant.id, ip, BURST);
    // Past the 15 minutes the old window refilled everything after: one token back, no more.
    advance(15 * 60 + 1);
    expect(await failures(tenant.id, ip, 1)).toEqual([401]);
    // The next token is a period after the first one came, not after this failure.
    expect(await refusal(tenant.id, ip)).toBe(2 * REFILL_SECONDS - (15 * 60 + 1));
    advance(3 * REFILL_SECONDS);
    expect(await failures(tenant.id, ip, 3)).toEqual([401, 401, 401]);
    expect(await refusal(tenant.id, ip)).toBeGreaterThan(0);
  });

  it("never refills beyond the burst, however long the address stays idle", async () => {
    const { tenant } = await createTenant();
    const advance = frozenClock();
    const ip = freshIp();
    await failures(tenant.id, ip, BURST);
    advance(30 * 24 * 3600);
    expect(await failures(tenant.id, ip, BURST)).toEqual(ones(BURST, 401));
    expect(await refusal(tenant.id, ip)).toBe(REFILL_SECONDS);
  });

  it("other addresses keep their own bucket", async () => {
    const { tenant } = await createTenant();
    frozenClock();
    const ip = freshIp();
    await failures(tenant.id, ip, BURST);
    await refusal(tenant.id, ip);
    expect(await failures(tenant.id, freshIp(), 1)).toEqual([401]);
  });
});
