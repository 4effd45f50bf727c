import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";

/** How many attempts a key may spend, and how long the first lock-out lasts. */
export interface ThrottleRule {
  max: number;
  lockoutSeconds: number;
  /**
   * The budget is per window: attempts charged longer ago than this no longer count (the window
   * opens at the first attempt after the previous one closed). Lock-outs still escalate until the
   * key has been idle for a day.
   */
  windowSeconds: number;
  /**
   * Makes the budget a token bucket instead: a burst of `max` failures, then one more every
   * `refillSeconds` (never more than `max` in hand). No window, no lock-out: an empty bucket
   * refuses until its next token, which `Retry-After` names.
   */
  refillSeconds?: number;
}

/**
 * `busy`: the budget is taken by attempts still in flight, not by failures; the caller may wait
 * for them to settle (a success frees the key) instead of answering 429 at once.
 */
export type Verdict = { allowed: true } | { allowed: false; retryAfter: number; busy?: true };

/** A key with no activity for this long (and no lock in force) starts over from nothing. */
export const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;
/** Lock-outs double each time, up to this long. */
export const MAX_LOCKOUT_MS = 24 * 60 * 60 * 1000;

interface Counter {
  [column: string]: number | null;
  /** Attempts charged in the current window (since it opened, or since the last lock-out). */
  spent: number;
  /** Of those, the ones reported failed; the rest are in flight (or were given back). */
  failed: number;
  /** When the current window opened; for a bucket, the instant its next refill is counted from. */
  window_started_at: number;
  /** Lock-outs so far: the next one lasts lockoutSeconds · 2^lockouts. */
  lockouts: number;
  locked_until: number | null;
  touched_at: number;
  /** A bucket's: when every failure will have been refilled (the counter may be dropped after). */
  full_at: number;
}

const FRESH: Counter = { spent: 0, failed: 0, window_started_at: 0, lockouts: 0, locked_until: null, touched_at: 0, full_at: 0 };

/**
 * Brute-force counters, one object per key (`idFromName("login:acct:…")`, `"login:ip:…"`,
 * `"reset:email:…"`): every isolate of every colo sees the same count, which an isolate's memory
 * could never give.
 *
 * An attempt is charged *before* the guarded work runs (`attempt`), so N concurrent guesses can
 * never get past the limit together: once `max` attempts are charged, the next one waits (`busy`)
 * until they settle. Only reported failures lock the key, so concurrent sign-ins with the right
 * password all get through: each success frees the key for the ones waiting.
 * The caller then reports the outcome: `fail` locks the key once its budget is spent, `reset`
 * forgets it (a successful sign-in), `refund` gives one attempt back (a success that should not
 * count against a shared key, e.g. a client address). Every method is synchronous SQL, so each
 * call is atomic. Time comes from the caller (`now`), so tests drive it with a fake clock.
 */
export class Throttle extends DurableObject<Bindings> {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS counter (
      id INTEGER PRIMARY KEY CHECK (id = 1), spent INTEGER NOT NULL, lockouts INTEGER NOT NULL,
      locked_until INTEGER, touched_at INTEGER NOT NULL)`);
    // Counters written before budgets had windows: their window opens at their last touch.
    const columns = ctx.storage.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('counter')").toArray();
    if (!columns.some((c) => c.name === "window_started_at")) {
      ctx.storage.sql.exec("ALTER TABLE counter ADD COLUMN window_started_at INTEGER NOT NULL DEFAULT 0");
      ctx.storage.sql.exec("UPDATE counter SET window_started_at = touched_at");
    }
    if (!columns.some((c) => c.name === "failed")) {
      ctx.storage.sql.exec("ALTER TABLE counter ADD COLUMN failed INTEGER NOT NULL DEFAULT 0");
      ctx.storage.sql.exec("UPDATE counter SET failed = spent");
    }
    if (!columns.some((c) => c.name === "full_at")) {
      ctx.storage.sql.exec("ALTER TABLE counter ADD COLUMN full_at INTEGER NOT NULL DEFAULT 0");
    }
  }

  /** Charges one attempt, or refuses it while the key is locked (or its budget is spent). */
  attempt(rule: ThrottleRule, now: number): Verdict {
    if (rule.refillSeconds) return this.attemptBucket(rule, now);
    const c = this.current(now);
    if (c.locked_until !== null && c.locked_until > now) return this.refuse(c, now);
    if (c.locked_until !== null) {
      // The lock-out is over: a fresh budget, but the next lock-out will be longer.
      c.locked_until = null;
      this.openWindow(c, now);
    } else if (now - c.window_started_at >= rule.windowSeconds * 1000) {
      this.openWindow(c, now);
    }
    if (c.spent >= rule.max) {
      // Attempts in flight hold the rest of the budget: this one waits for them to settle.
      return { allowed: false, retryAfter: 1, busy: true };
    }
    c.spent += 1;
    c.touched_at = now;
    this.save(c);
    return { allowed: true };
  }

  /** The charged attempt failed: once `max` have failed, the key is locked out. */
  fail(rule: ThrottleRule, now: number): Verdict {
    if (rule.refillSeconds) return this.failBucket(rule, now);
    const c = this.current(now);
    c.failed += 1;
    if (c.failed >= rule.max && (c.locked_until === null || c.locked_until <= now)) this.lock(c, rule, now);
    this.save(c);
    return c.locked_until !== null && c.locked_until > now ? this.refuse(c, now) : { allowed: true };
  }

  /** Charges one attempt that counts as spent whatever happens next (e.g. a reset request). */
  hit(rule: ThrottleRule, now: number): Verdict {
    const verdict = this.attempt(rule, now);
    if (verdict.allowed) this.fail(rule, now);
    return verdict;
  }

  /** A success that should not count: gives the charged attempt back. */
  refund(): void {
    const c = this.load();
    if (!c || c.spent === 0) return;
    c.spent -= 1;
    this.save(c);
  }

  /** Forgets the key entirely (a successful sign-in clears the account's failures and lock-outs). */
  reset(): void {
    this.ctx.storage.sql.exec("DELETE FROM counter");
  }

  /** Drops counters nobody touched for a day, so idle keys cost no storage. */
  override async alarm(): Promise<void> {
    const c = this.load();
    if (!c) return;
    const idleUntil = Math.max(c.touched_at + FORGET_AFTER_MS, c.locked_until ?? 0, c.full_at);
    if (Date.now() >= idleUntil) this.ctx.storage.sql.exec("DELETE FROM counter");
    else await this.ctx.storage.setAlarm(idleUntil);
  }

  private attemptBucket(rule: ThrottleRule, now: number): Verdict {
    const c = this.bucket(rule, now);
    if (c.failed >= rule.max) return { allowed: false, retryAfter: untilNextToken(c, rule, now) };
    if (c.spent >= rule.max) return { allowed: false, retryAfter: 1, busy: true };
    c.spent += 1;
    c.touched_at = now;
    this.save(c);
    return { allowed: true };
  }

  private failBucket(rule: ThrottleRule, now: number): Verdict {
    const c = this.bucket(rule, now);
    c.failed += 1;
    c.spent = Math.max(c.spent, c.failed);
    c.touched_at = now;
    c.full_at = c.window_started_at + c.failed * rule.refillSeconds! * 1000;
    this.save(c);
    return c.failed >= rule.max ? { allowed: false, retryAfter: untilNextToken(c, rule, now) } : { allowed: true };
  }

  /**
   * A bucket as of `now`: one failure refilled per whole period since the refill clock's start,
   * the remainder kept for the next one. A full bucket has no clock: it starts with the next
   * failure, so the first refill comes one period after the bucket stopped being full.
   */
  private bucket(rule: ThrottleRule, now: number): Counter {
    const c = this.load() ?? { ...FRESH, window_started_at: now, touched_at: now };
    const periodMs = rule.refillSeconds! * 1000;
    const refilled = Math.min(c.failed, Math.max(0, Math.floor((now - c.window_started_at) / periodMs)));
    c.failed -= refilled;
    c.spent = Math.max(0, c.spent - refilled);
    c.window_started_at = c.failed === 0 ? now : c.window_started_at + refilled * periodMs;
    // Attempts that never reported back (a worker that died mid-way) stop holding tokens after a day.
    if (now - c.touched_at >= FORGET_AFTER_MS) c.spent = c.failed;
    return c;
  }

  /** The counter as of `now`: a key idle for a day with no lock in force starts over. */
  private current(now: number): Counter {
    const c = this.load() ?? { ...FRESH, window_started_at: now, touched_at: now };
    const locked = c.locked_until !== null && c.locked_until > now;
    if (!locked && now - c.touched_at >= FORGET_AFTER_MS) return { ...FRESH, window_started_at: now, touched_at: now };
    return c;
  }

  private openWindow(c: Counter, now: number): void {
    c.spent = 0;
    c.failed = 0;
    c.window_started_at = now;
  }

  private lock(c: Counter, rule: ThrottleRule, now: number): void {
    const ms = Math.min(rule.lockoutSeconds * 1000 * 2 ** c.lockouts, MAX_LOCKOUT_MS);
    c.locked_until = now + ms;
    c.lockouts += 1;
    c.touched_at = now;
  }

  private refuse(c: Counter, now: number): Verdict {
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((c.locked_until! - now) / 1000)) };
  }

  private load(): Counter | null {
    return (
      this.ctx.storage.sql
        .exec<Counter>("SELECT spent, failed, window_started_at, lockouts, locked_until, touched_at, full_at FROM counter")
        .toArray()[0] ?? null
    );
  }

  private save(c: Counter): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO counter (id, spent, failed, window_started_at, lockouts, locked_until, touched_at, full_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET spent = excluded.spent, failed = excluded.failed, window_started_at = excluded.window_started_at,
         lockouts = excluded.lockouts, locked_until = excluded.locked_until, touched_at = excluded.touched_at, full_at = excluded.full_at`,
      c.spent,
      c.failed,
      c.window_started_at,
      c.lockouts,
      c.locked_until,
      c.touched_at,
      c.full_at,
    );
    // Cleanup only; the counter's meaning never depends on when the alarm runs.
    void this.ctx.storage.setAlarm(Math.max(c.touched_at + FORGET_AFTER_MS, c.locked_until ?? 0, c.full_at));
  }
}

/** Seconds until an empty bucket's next token (at least 1). */
function untilNextToken(c: Counter, rule: ThrottleRule, now: number): number {
  return Math.max(1, Math.ceil((c.window_started_at + rule.refillSeconds! * 1000 - now) / 1000));
}
