import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import worker from "../src/index";
import type { WebhookMessage } from "../src/webhooks/messages";
import { WEBHOOK_SWEEP_CRON } from "../src/webhooks/sweep";
import { createTenant, createUser, PLATFORM_KEY } from "./helpers";
import { watchD1 } from "./d1-counter";
import { createWebhook, deliveries, eventually, hook, installReceiver } from "./webhooks-receiver";

beforeAll(installReceiver);

/** A D1 binding that records the SQL it is given (batches included), to explain it afterwards. */
function recordingD1(db: D1Database) {
  const issued = new Map<string, unknown[]>();
  const recording = watchD1(db, {
    prepare: (sql) => void (issued.has(sql) || issued.set(sql, [])),
    bind: (sql, params) => void issued.set(sql, params),
  });
  return { db: recording, issued };
}

const WATCHED = ["webhook_deliveries", "webhook_endpoints", "webhook_dispatch", "events", "tenants"];

/** Lines of the plan that read a webhook, event or tenant table without an index. */
async function scans(issued: Map<string, unknown[]>) {
  const problems: string[] = [];
  for (const [sql, params] of issued) {
    if (!/webhook_|events/.test(sql) || !/^\s*(select|with|update|delete|insert)\b/i.test(sql)) continue;
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>();
    // Aliases name their table (`FROM webhook_deliveries d`); a CTE or json_each is not a table.
    const tableOf = new Map([...sql.matchAll(/\b(?:from|join)\s+([a-z_]+)(?:\s+([a-z]+)\b)?/gi)].map((m) => [m[2] ?? m[1]!, m[1]!]));
    for (const { detail } of plan.results) {
      const scanned = /^SCAN (\w+)(.*)$/.exec(detail);
      if (!scanned || /USING (COVERING )?INDEX|VIRTUAL TABLE/.test(scanned[2]!)) continue;
      const table = tableOf.get(scanned[1]!) ?? scanned[1]!;
      if (WATCHED.includes(table)) problems.push(`${detail} (${table}) in: ${sql.replace(/\s+/g, " ").slice(0, 160)}`);
    }
  }
  return problems;
}

const message = (body: WebhookMessage, i: number) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body });

describe("query plans of the webhook paths", () => {
  it("fan-out, claim, record, sweep and the deliveries log use indexes (no table scans)", async () => {
    const { tenant } = await createTenant();
    const h = hook(() => new Response(null, { status: 500 }));
    const endpoint = await createWebhook(tenant.id, { url: h.url });
    await createUser(tenant.id, { email: "plan@example.test" });
    await eventually(async () => expect((await deliveries(tenant.id, endpoint.id))[0]?.attempts.length).toBeGreaterThan(0));
    const [d] = await deliveries(tenant.id, endpoint.id);

    const { db, issued } = recordingD1(env.DB);
    const recordingEnv = { ...env, DB: db };
    const batch = createMessageBatch<WebhookMessage>("userplane-webhooks", [message({ kind: "dispatch" }, 0), message({ kind: "deliver", id: d!.id }, 1)]);
    const ctx = createExecutionContext();
    await worker.queue(batch, recordingEnv);
    expect((await getQueueResult(batch, ctx)).explicitAcks.length).toBe(2);
    await worker.scheduled(createScheduledController({ cron: WEBHOOK_SWEEP_CRON, scheduledTime: Date.now() }), recordingEnv);
    const list = await createApp().fetch(
      new Request(`http://userplane.test/v1/webhooks/${endpoint.id}/deliveries?limit=5`, { headers: { Authorization: `Bearer ${PLATFORM_KEY}`, "X-Tenant": tenant.id } }),
      recordingEnv,
      createExecutionContext(),
    );
    expect(list.status).toBe(200);
    expect([...issued.keys()].some((sql) => sql.includes("INSERT INTO webhook_deliveries"))).toBe(true);
    expect([...issued.keys()].some((sql) => sql.includes("SET lease ="))).toBe(true);
    expect(await scans(issued)).toEqual([]);
  });
});
