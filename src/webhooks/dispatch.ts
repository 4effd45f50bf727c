import { sql } from "drizzle-orm";
import { batch } from "../db/batch";
import type { Db } from "../env";
import { isoNow } from "../lib/time";
import { idPerRowSql } from "../db/ids";

/** Events fanned out per D1 batch; a dispatch run takes at most MAX_PASSES of them. */
const CHUNK = 200;
const MAX_PASSES = 10;

/** The next CHUNK events past the cursor, by commit order. */
const nextEvents = sql`SELECT e.* FROM events e WHERE e.seq > (SELECT last_seq FROM webhook_dispatch WHERE id = 1)
  ORDER BY e.seq LIMIT ${CHUNK}`;

/**
 * One fan-out step, one transaction: a delivery for each (event, endpoint) pair of the next chunk
 * of events whose endpoint wants the type and was enabled when the event was recorded (so events
 * recorded while it was disabled, or before it existed, are never its), then the cursor moves past
 * the chunk. `(endpoint_id, event_id)` is unique: running a step twice never delivers twice.
 */
function fanOutStep(db: Db, now: string) {
  return [
    db.all<{ id: string }>(sql`WITH chunk AS (${nextEvents})
      INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, kind, payload, status, next_attempt_at, created_at, updated_at)
      SELECT ${idPerRowSql("whd", now)}, c.tenant_id, w.id, c.id, c.type, 'event',
        json_object('id', c.id, 'type', c.type, 'created_at', c.created_at, 'tenant_id', c.tenant_id, 'data', json(c.data)),
        'pending', ${now}, ${now}, ${now}
      FROM chunk c
      JOIN webhook_endpoints w ON w.tenant_id = c.tenant_id
      JOIN tenants t ON t.id = c.tenant_id AND t.deleted_at IS NULL
      WHERE w.enabled = 1 AND w.enabled_since <= c.created_at
        AND EXISTS (SELECT 1 FROM json_each(w.events) f WHERE f.value IN ('*', c.type))
      ORDER BY c.seq
      ON CONFLICT (endpoint_id, event_id) DO NOTHING
      RETURNING id`),
    db.get<{ last_seq: number; more: number }>(sql`WITH chunk AS (${nextEvents})
      UPDATE webhook_dispatch SET last_seq = coalesce((SELECT max(seq) FROM chunk), last_seq), updated_at = ${now}
      WHERE id = 1
      RETURNING last_seq, EXISTS (SELECT 1 FROM events WHERE seq > webhook_dispatch.last_seq) AS more`),
  ] as const;
}

/**
 * Fans out every event past the cursor (up to MAX_PASSES chunks). Returns the ids of the
 * deliveries it created and whether events remain for another run.
 */
export async function dispatchEvents(db: Db): Promise<{ created: string[]; more: boolean }> {
  const created: string[] = [];
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const [rows, cursor] = await batch(db, fanOutStep(db, isoNow()));
    created.push(...rows.map((r) => r.id));
    if (!cursor?.more) return { created, more: false };
  }
  return { created, more: true };
}
