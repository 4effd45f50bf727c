-- Webhooks (issue 13): endpoints, their deliveries (each with its attempts), and the dispatch
-- cursor that says which events have been fanned out to endpoints.

-- An endpoint of a tenant. `secret` and `previous_secret` are AES-GCM ciphertexts (key from the
-- WEBHOOK_SECRET_KEY secret), never the signing secrets themselves. `enabled_since` is when it was
-- last enabled (created or re-enabled): events recorded before it are not its to receive.
-- `failure_streak` counts event deliveries that ended failed since the last one that succeeded.
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text DEFAULT '["*"]' NOT NULL,
	`description` text,
	`enabled` integer DEFAULT true NOT NULL,
	`enabled_since` text NOT NULL,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_secret_expires_at` text,
	`failure_streak` integer DEFAULT 0 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_endpoints_tenant_id_uq` ON `webhook_endpoints` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_endpoints_created_idx` ON `webhook_endpoints` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
-- One delivery of one event to one endpoint: (endpoint_id, event_id) is unique, so fanning an
-- event out twice never makes a second delivery. `payload` is the exact body sent on every
-- attempt; `attempts` a JSON array of { at, status_code, error, duration_ms }. `attempt_count`
-- counts the scheduled attempts (manual retries aside), `manual` marks a pending manual retry,
-- `lease` / `lease_until` keep two consumers from attempting the same delivery at once.
CREATE TABLE `webhook_deliveries` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`kind` text DEFAULT 'event' NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` text DEFAULT '[]' NOT NULL,
	`attempt_count` integer DEFAULT 0 NOT NULL,
	`manual` integer DEFAULT false NOT NULL,
	`next_attempt_at` text,
	`lease` text,
	`lease_until` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`tenant_id`,`endpoint_id`) REFERENCES `webhook_endpoints`(`tenant_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_id_uq` ON `webhook_deliveries` (`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_event_uq` ON `webhook_deliveries` (`endpoint_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint_idx` ON `webhook_deliveries` (`tenant_id`,`endpoint_id`,`seq`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_pending_idx` ON `webhook_deliveries` (`next_attempt_at`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `webhook_deliveries_created_idx` ON `webhook_deliveries` (`created_at`);--> statement-breakpoint
-- The dispatch cursor: every event with seq <= last_seq has been fanned out. D1 commits one
-- write at a time and AUTOINCREMENT never reuses a value, so once an event is visible every event
-- with a lower seq is visible too: a high-water mark marks them all dispatched. Events recorded
-- before this migration are not dispatched (no endpoint existed to want them).
CREATE TABLE `webhook_dispatch` (
	`id` integer PRIMARY KEY NOT NULL CHECK (`id` = 1),
	`last_seq` integer NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `webhook_dispatch` (`id`, `last_seq`, `updated_at`)
  SELECT 1, coalesce(max(`seq`), 0), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM `events`;
