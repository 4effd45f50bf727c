import { events } from "../db/schema";
import type { Db } from "../env";
import { newId } from "../lib/ids";
import { isoNow } from "../lib/time";

export const EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.deleted",
  "user.password_changed",
  "password_reset.requested",
  "session.revoked",
  "tenant.created",
  "tenant.deleted",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * The INSERT that records an event; callers put it in the same D1 batch as the change it
 * describes, so the feed never shows a change that did not happen or misses one that did.
 */
export function recordEvent(db: Db, tenantId: string | null, type: EventType, data: Record<string, unknown>) {
  return db.insert(events).values({ id: newId("evt"), tenantId, type, data: JSON.stringify(data), createdAt: isoNow() });
}
