import { sql } from "drizzle-orm";
import { dbFor } from "../app";
import type { Bindings } from "../env";
import { dispatchEvents } from "./dispatch";
import { deliverMessages, enqueue } from "./producer";

/** The cron of the sweep (wrangler.toml); the other cron is the signing keys' daily check. */
export const WEBHOOK_SWEEP_CRON = "* * * * *";
/** A pending delivery this late, with no live lease, lost its message. */
const OVERDUE_MS = 60_000;
const BATCH = 1000;
/** How long finished deliveries stay in the log. */
const RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * The safety net behind the queue, every minute: (1) dispatches every event the cursor has not
 * passed, whatever its age — the enqueue after a commit may be lost when a worker stops, the
 * events are not (they commit with the change); (2) enqueues again pending deliveries that are
 * overdue by a minute and not being attempted (a lost re-enqueue, a message that went to the
 * dead-letter queue); (3) drops finished deliveries older than 30 days.
 */
export async function sweepWebhooks(env: Bindings, now = Date.now()): Promise<{ dispatched: number; requeued: number }> {
  const db = dbFor(env);
  const { created, more } = await dispatchEvents(db);
  const overdue = await db.all<{ id: string }>(sql`SELECT id FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at < ${new Date(now - OVERDUE_MS).toISOString()}
      AND (lease_until IS NULL OR lease_until < ${new Date(now).toISOString()})
    ORDER BY next_attempt_at LIMIT ${BATCH}`);
  await enqueue(env, [...deliverMessages([...created, ...overdue.map((r) => r.id)]), ...(more ? [{ kind: "dispatch" as const }] : [])]);
  await db.run(sql`DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries
    WHERE created_at < ${new Date(now - RETENTION_MS).toISOString()} AND status <> 'pending' LIMIT ${BATCH})`);
  return { dispatched: created.length, requeued: overdue.length };
}
