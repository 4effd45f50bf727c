import { sql, type SQL } from "drizzle-orm";
import { batch } from "../db/batch";
import type { Db } from "../env";
import { AUTO_DISABLE_AFTER } from "./config";
import type { AttemptResult } from "./attempt";
import { stopPendingOfDisabled } from "./repo";

/** A delivery this consumer holds the lease of, with what it needs to attempt it. */
export interface ClaimedDelivery {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  kind: "event" | "test";
  manual: number;
  attempt_count: number;
  payload: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
}

interface DeliveryState extends ClaimedDelivery {
  [column: string]: unknown;
  status: string;
  next_attempt_at: string | null;
  lease: string | null;
}

const inList = (ids: string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/**
 * Takes the lease of each named delivery that is pending, due, not leased by another consumer,
 * and whose endpoint is enabled (its tenant not being deleted): one round trip for the whole
 * batch. Also answers the deliveries that are pending but not due yet, with when they are due.
 */
export async function claimDeliveries(db: Db, ids: string[], lease: string, now: number, leaseMs: number) {
  const nowIso = new Date(now).toISOString();
  // A message may arrive a moment early; a second of slack keeps it from being sent back.
  const dueBy = new Date(now + 1000).toISOString();
  const [, rows] = await batch(db, [
    db.run(sql`UPDATE webhook_deliveries SET lease = ${lease}, lease_until = ${new Date(now + leaseMs).toISOString()}
      WHERE id IN ${inList(ids)} AND status = 'pending' AND next_attempt_at <= ${dueBy}
        AND (lease_until IS NULL OR lease_until < ${nowIso})
        AND EXISTS (SELECT 1 FROM webhook_endpoints w JOIN tenants t ON t.id = w.tenant_id
          WHERE w.tenant_id = webhook_deliveries.tenant_id AND w.id = webhook_deliveries.endpoint_id
            AND w.enabled = 1 AND t.deleted_at IS NULL)`),
    db.all<DeliveryState>(sql`SELECT d.id, d.tenant_id, d.endpoint_id, d.event_id, d.kind, d.manual, d.attempt_count,
        d.payload, d.status, d.next_attempt_at, d.lease, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at
      FROM webhook_deliveries d JOIN webhook_endpoints w ON w.tenant_id = d.tenant_id AND w.id = d.endpoint_id
      WHERE d.id IN ${inList(ids)}`),
  ]);
  const claimed = rows.filter((r) => r.lease === lease && r.status === "pending");
  const notDue = rows
    .filter((r) => r.status === "pending" && r.lease !== lease && r.next_attempt_at !== null && r.next_attempt_at > dueBy)
    .map((r) => ({ id: r.id, dueAt: Date.parse(r.next_attempt_at!) }));
  return { claimed, notDue };
}

export interface Outcome {
  delivery: ClaimedDelivery;
  attempt: AttemptResult;
}

/**
 * Writes the outcomes of one batch of attempts in one transaction: the attempt appended to the
 * log, the delivery's new state (succeeded; pending again after the schedule's next delay;
 * failed once the schedule is spent or after a manual retry's one attempt), and the endpoint's
 * failure streak for event deliveries that ended (test deliveries and manual retries aside).
 * The 50th failure in a row disables the endpoint, which also ends its pending deliveries.
 * Returns the deliveries to attempt again, with their delay.
 */
export async function recordOutcomes(db: Db, outcomes: Outcome[], lease: string, schedule: number[], now: number) {
  if (outcomes.length === 0) return [];
  const nowIso = new Date(now).toISOString();
  const again: { id: string; delaySeconds: number }[] = [];
  const statements: ReturnType<Db["run"]>[] = [];
  const touched = new Set<string>();
  for (const { delivery: d, attempt } of outcomes) {
    const manual = d.manual === 1;
    const attempts = manual ? d.attempt_count : d.attempt_count + 1;
    const delay = !attempt.ok && !manual ? schedule[attempts - 1] : undefined;
    const status = attempt.ok ? "succeeded" : delay === undefined ? "failed" : "pending";
    const next = status === "pending" ? new Date(now + delay! * 1000).toISOString() : null;
    if (status === "pending") again.push({ id: d.id, delaySeconds: delay! });
    // The streak first, while the lease still shows this consumer holds the delivery.
    if (d.kind === "event" && !manual && status !== "pending") {
      statements.push(streakStatement(db, d, status === "succeeded", lease, nowIso));
      touched.add(d.endpoint_id);
    }
    const { ok: _ok, ...logged } = attempt;
    statements.push(
      db.run(sql`UPDATE webhook_deliveries SET attempts = json_insert(attempts, '$[#]', json(${JSON.stringify(logged)})),
          attempt_count = ${attempts}, status = ${status}, next_attempt_at = ${next}, manual = 0,
          lease = NULL, lease_until = NULL, updated_at = ${nowIso}
        WHERE id = ${d.id} AND lease = ${lease}`),
    );
  }
  if (touched.size > 0) statements.push(stopPendingOfDisabled(db, sql`endpoint_id IN ${inList([...touched])}`, nowIso));
  await batch(db, statements as unknown as [ReturnType<Db["run"]>]);
  return again;
}

/**
 * A success resets the streak; a failure adds one, and the AUTO_DISABLE_AFTER-th disables the
 * endpoint. Guarded by the delivery's lease so a lost lease counts nothing.
 */
function streakStatement(db: Db, d: ClaimedDelivery, succeeded: boolean, lease: string, nowIso: string) {
  const held: SQL = sql`EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ${d.id} AND lease = ${lease})`;
  const where = sql`tenant_id = ${d.tenant_id} AND id = ${d.endpoint_id} AND ${held}`;
  if (succeeded) return db.run(sql`UPDATE webhook_endpoints SET failure_streak = 0 WHERE ${where}`);
  return db.run(sql`UPDATE webhook_endpoints SET
      failure_streak = failure_streak + 1,
      enabled = CASE WHEN failure_streak + 1 >= ${AUTO_DISABLE_AFTER} THEN 0 ELSE enabled END,
      version = version + CASE WHEN enabled = 1 AND failure_streak + 1 >= ${AUTO_DISABLE_AFTER} THEN 1 ELSE 0 END,
      updated_at = CASE WHEN enabled = 1 AND failure_streak + 1 >= ${AUTO_DISABLE_AFTER} THEN ${nowIso} ELSE updated_at END
    WHERE ${where}`);
}
