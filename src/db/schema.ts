/**
 * The D1 schema. Every tenant-owned table carries `tenant_id` first in its keys and indexes so
 * each query can be served by an index that leads with the tenant. Child rows reference their
 * user through the composite `(tenant_id, user_id)` key, which both keeps rows inside their
 * tenant and lets `ON DELETE CASCADE` act as the last safety net behind the Durable Object's
 * batched cascade.
 */
import { sql } from "drizzle-orm";
import {
  foreignKey,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable(
  "tenants",
  {
    id: text("id").primaryKey(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    version: integer("version").notNull().default(1),
    /** Set when a cascading delete has started: the tenant is gone for every caller from then on. */
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("tenants_slug_uq").on(sql`lower(${t.slug})`),
    index("tenants_created_idx").on(t.createdAt, t.id),
  ],
);

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    username: text("username"),
    email: text("email"),
    firstName: text("first_name"),
    lastName: text("last_name"),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    isManaged: integer("is_managed", { mode: "boolean" }).notNull().default(false),
    managerId: text("manager_id"),
    metadata: text("metadata").notNull().default("{}"),
    externalId: text("external_id"),
    passwordHash: text("password_hash"),
    passwordChangeRequired: integer("password_change_required", { mode: "boolean" })
      .notNull()
      .default(false),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    lastLoginAt: text("last_login_at"),
    version: integer("version").notNull().default(1),
    /** Set when a cascading delete has started: invisible, cannot sign in, tokens fail. */
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("users_tenant_id_uq").on(t.tenantId, t.id),
    uniqueIndex("users_email_uq").on(t.tenantId, sql`lower(${t.email})`),
    uniqueIndex("users_username_uq").on(t.tenantId, sql`lower(${t.username})`).where(sql`lower(${t.username}) IS NOT NULL`),
    uniqueIndex("users_external_id_uq").on(t.tenantId, sql`lower(${t.externalId})`).where(sql`lower(${t.externalId}) IS NOT NULL`),
    index("users_created_idx").on(t.tenantId, t.createdAt, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("users_manager_idx").on(t.tenantId, t.managerId).where(sql`${t.managerId} IS NOT NULL`),
    index("users_sort_username_idx").on(t.tenantId, sql`coalesce(lower(${t.username}), '')`, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("users_sort_email_idx").on(t.tenantId, sql`coalesce(lower(${t.email}), '')`, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("users_sort_first_name_idx").on(t.tenantId, sql`coalesce(lower(${t.firstName}), '')`, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("users_sort_last_name_idx").on(t.tenantId, sql`coalesce(lower(${t.lastName}), '')`, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("users_sort_last_login_idx").on(t.tenantId, sql`coalesce(${t.lastLoginAt}, '')`, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("users_sort_is_active_idx").on(t.tenantId, t.isActive, t.id).where(sql`${t.deletedAt} IS NULL`),
    index("users_deleted_idx").on(t.tenantId, t.deletedAt).where(sql`${t.deletedAt} IS NOT NULL`),
    foreignKey({
      name: "users_manager_fk",
      columns: [t.tenantId, t.managerId],
      foreignColumns: [t.tenantId, t.id],
    }).onDelete("cascade"),
  ],
);

export const roles = sqliteTable(
  "roles",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    /** JSON array of `resource:action` strings; built-in roles take theirs from the code catalogue. */
    permissions: text("permissions").notNull().default("[]"),
    isBuiltin: integer("is_builtin", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    version: integer("version").notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);

export const userRoles = sqliteTable(
  "user_roles",
  {
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    role: text("role").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId, t.role] }),
    index("user_roles_role_idx").on(t.tenantId, t.role),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete(
      "cascade",
    ),
    // No cascade: a role that users hold cannot be deleted (409).
    foreignKey({ columns: [t.tenantId, t.role], foreignColumns: [roles.tenantId, roles.name] }),
  ],
);

export const shares = sqliteTable(
  "shares",
  {
    tenantId: text("tenant_id").notNull(),
    ownerId: text("owner_id").notNull(),
    granteeId: text("grantee_id").notNull(),
    /** JSON array of scopes. */
    scopes: text("scopes").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.ownerId, t.granteeId] }),
    index("shares_grantee_idx").on(t.tenantId, t.granteeId, t.ownerId),
    foreignKey({ columns: [t.tenantId, t.ownerId], foreignColumns: [users.tenantId, users.id] }).onDelete(
      "cascade",
    ),
    foreignKey({ columns: [t.tenantId, t.granteeId], foreignColumns: [users.tenantId, users.id] }).onDelete(
      "cascade",
    ),
  ],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: text("created_at").notNull(),
    lastUsedAt: text("last_used_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    revokedAt: text("revoked_at"),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [
    index("sessions_user_idx").on(t.tenantId, t.userId, t.createdAt),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete(
      "cascade",
    ),
  ],
);

export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    /** SHA-256 of the opaque token; the token itself is never stored. */
    hash: text("hash").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
  },
  (t) => [
    index("refresh_tokens_session_idx").on(t.sessionId),
    index("refresh_tokens_user_idx").on(t.tenantId, t.userId),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete(
      "cascade",
    ),
  ],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    /** NULL for platform keys. */
    tenantId: text("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
    /** The user who created the key; the key goes when that user is deleted. */
    userId: text("user_id"),
    name: text("name").notNull(),
    roles: text("roles").notNull().default("[]"),
    /** SHA-256 of the whole key; the key itself is shown once and never stored. */
    hash: text("hash").notNull(),
    prefix: text("prefix").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at"),
    lastUsedAt: text("last_used_at"),
  },
  (t) => [
    uniqueIndex("api_keys_hash_uq").on(t.hash),
    index("api_keys_tenant_idx").on(t.tenantId, t.createdAt, t.id),
    index("api_keys_user_idx").on(t.tenantId, t.userId),
    foreignKey({ columns: [t.tenantId, t.userId], foreignColumns: [users.tenantId, users.id] }).onDelete(
      "cascade",
    ),
  ],
);

export const events = sqliteTable(
  "events",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    /** NULL for platform-level events (e.g. `tenant.deleted`). */
    tenantId: text("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    data: text("data").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("events_id_uq").on(t.id),
    index("events_tenant_idx").on(t.tenantId, t.seq),
    index("events_tenant_type_idx").on(t.tenantId, t.type, t.seq),
  ],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    /** Who sent the request (principal) and to which route: keys never collide across callers. */
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    tenantId: text("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
    fingerprint: text("fingerprint").notNull(),
    /** NULL while the first request is still running. */
    status: integer("status"),
    headers: text("headers"),
    body: text("body"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.key] }),
    index("idempotency_created_idx").on(t.createdAt),
  ],
);

/**
 * Live users of a tenant by (role, is_active, is_managed), kept by the triggers of
 * migrations/0004_list_counts.sql in the same transaction as every change: page-mode totals read
 * these instead of counting users. `role` '' is every user; users marked deleted do not count.
 */
export const userCounts = sqliteTable(
  "user_counts",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    role: text("role").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull(),
    isManaged: integer("is_managed", { mode: "boolean" }).notNull(),
    n: integer("n").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.role, t.isActive, t.isManaged] })],
);

/** Events per (tenant, type), by trigger; tenant_id '' for platform-level events. */
export const eventCounts = sqliteTable(
  "event_counts",
  {
    tenantId: text("tenant_id").notNull(),
    type: text("type").notNull(),
    n: integer("n").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.type] })],
);

/** One row (id 1): how many tenants are not marked deleted, by trigger. */
export const liveTenants = sqliteTable("live_tenants", {
  id: integer("id").primaryKey(),
  n: integer("n").notNull(),
});

/** Webhook endpoints of a tenant (migrations/0008_webhooks.sql); secrets are AES-GCM ciphertexts. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    events: text("events").notNull().default('["*"]'),
    description: text("description"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** When it was last enabled: events recorded before are not delivered to it. */
    enabledSince: text("enabled_since").notNull(),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: text("previous_secret_expires_at"),
    /** Event deliveries that ended failed since the last one that succeeded (50 disables it). */
    failureStreak: integer("failure_streak").notNull().default(0),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    version: integer("version").notNull().default(1),
  },
  (t) => [
    uniqueIndex("webhook_endpoints_tenant_id_uq").on(t.tenantId, t.id),
    index("webhook_endpoints_created_idx").on(t.tenantId, t.createdAt, t.id),
  ],
);

/** One delivery of one event to one endpoint, with its attempts (a JSON array). */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    tenantId: text("tenant_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    /** `event` or `test` (test deliveries do not count towards auto-disable). */
    kind: text("kind").notNull().default("event"),
    payload: text("payload").notNull(),
    status: text("status").notNull().default("pending"),
    attempts: text("attempts").notNull().default("[]"),
    attemptCount: integer("attempt_count").notNull().default(0),
    manual: integer("manual", { mode: "boolean" }).notNull().default(false),
    nextAttemptAt: text("next_attempt_at"),
    lease: text("lease"),
    leaseUntil: text("lease_until"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_id_uq").on(t.id),
    uniqueIndex("webhook_deliveries_event_uq").on(t.endpointId, t.eventId),
    index("webhook_deliveries_endpoint_idx").on(t.tenantId, t.endpointId, t.seq),
    index("webhook_deliveries_pending_idx").on(t.nextAttemptAt).where(sql`status = 'pending'`),
    index("webhook_deliveries_created_idx").on(t.createdAt),
    foreignKey({
      columns: [t.tenantId, t.endpointId],
      foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.id],
    }).onDelete("cascade"),
  ],
);

/** The dispatch cursor: events with seq <= last_seq have been fanned out to endpoints. */
export const webhookDispatch = sqliteTable("webhook_dispatch", {
  id: integer("id").primaryKey(),
  lastSeq: integer("last_seq").notNull(),
  updatedAt: text("updated_at").notNull(),
});
/*
 * Not tables drizzle models: the view `write_guard` and its INSTEAD OF trigger
 * (migrations/0005_write_guard.sql) turn a refusal found inside a write batch into an ABORT that
 * rolls the batch back; src/auth/guards.ts writes the statements that use it.
 */
