import { batch } from "../db/batch";
import { eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { tenants } from "../db/schema";
import type { AppEnv } from "../env";
import type { Principal } from "../auth/principal";
import { configuredParams, hashPassword } from "../sign-in/password";
import { guarded } from "../lib/db-errors";
import { callerOf, ifMatchCheck, writeGuarded } from "../auth/guards";
import { notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import {
  cursorPage,
  keysetCondition,
  orderBy,
  parseSort,
  resolvePagination,
  type PaginationInput,
  type SortableField,
  numberedPage,
} from "../lib/pagination";
import { isoNow } from "../lib/time";
import { recordEvent } from "../events/repo";
import { createsUser, newUser, noop } from "../users/service";
import { findTenant, insertBuiltinRoles, type TenantRow } from "./repo";
import type { CreateTenantInput } from "./schemas";
import { etagOf } from "../lib/etag";

export const tenantEtag = (t: TenantRow) => etagOf("ten", t.id, t.version);

/** Creates a tenant with its built-in roles and, optionally, its first owner: one batch. */
export async function createTenant(c: Context<AppEnv>, principal: Principal, input: CreateTenantInput) {
  const db = c.get("db");
  const now = isoNow();
  const id = newId("ten");
  const owner = input.owner;
  const passwordHash = owner?.password ? await hashPassword(owner.password, configuredParams(c.env)) : null;
  const ownerCreation = owner ? createsUser(db, newUser(id, owner, passwordHash, ["owner"], principal)) : noop(db);
  const [, , , , created] = await guarded(() =>
    batch(db, [
      db.insert(tenants).values({ id, slug: input.slug, name: input.name, createdAt: now, updatedAt: now }),
      insertBuiltinRoles(db, id, now),
      ownerCreation,
      recordEvent(db, null, "tenant.created", { tenant_id: id, slug: input.slug }),
      db.select().from(tenants).where(eq(tenants.id, id)),
    ]),
  );
  return created[0]!;
}

export async function getTenant(c: Context<AppEnv>, principal: Principal, idOrSlug: string) {
  const tenant = await findTenant(c.get("db"), idOrSlug);
  // A tenant principal sees its own tenant and nothing else.
  if (!tenant || (principal.kind !== "platform" && tenant.id !== principal.tenantId)) throw notFound("Tenant");
  return tenant;
}

const TENANT_SORT: Record<string, SortableField> = {
  created_at: { expr: sql`created_at`, read: (r) => String(r.created_at) },
  id: { expr: sql`id`, read: (r) => String(r.id) },
};
const TENANT_ORDER = parseSort(undefined, ["created_at", "id"], "created_at");

interface RawTenant {
  [column: string]: unknown;
  id: string;
  slug: string;
  name: string;
  created_at: string;
  updated_at: string;
}

const presentRaw = (r: RawTenant) => ({ id: r.id, slug: r.slug, name: r.name, created_at: r.created_at, updated_at: r.updated_at });

/** Live tenants, oldest first, in either pagination mode. */
export async function listTenants(c: Context<AppEnv>, input: PaginationInput) {
  const db = c.get("db");
  const p = resolvePagination(input, "tenants");
  const select = sql`SELECT id, slug, name, created_at, updated_at FROM tenants WHERE deleted_at IS NULL`;
  if (p.mode === "page") {
    const [rows, count] = await batch(db, [
      db.all<RawTenant>(sql`${select} ORDER BY ${orderBy(TENANT_ORDER, TENANT_SORT)} LIMIT ${p.pageSize} OFFSET ${(p.page - 1) * p.pageSize}`),
      // Kept by trigger (migrations/0004_list_counts.sql) rather than counting every tenant.
      db.get<{ total: number }>(sql`SELECT n AS total FROM live_tenants WHERE id = 1`),
    ]);
    return numberedPage(rows.map(presentRaw), count?.total, p);
  }
  const after = p.cursor ? sql` AND ${keysetCondition(TENANT_ORDER, TENANT_SORT, p.cursor)}` : sql``;
  const rows = await db.all<RawTenant>(
    sql`${select}${after} ORDER BY ${orderBy(TENANT_ORDER, TENANT_SORT, p.cursor?.dir === "prev")} LIMIT ${p.limit + 1}`,
  );
  return cursorPage(rows, p, TENANT_ORDER, TENANT_SORT, "tenants", presentRaw);
}

/**
 * `PATCH /v1/tenants/{id}` in one round trip: the tenant must be live and the caller's (404), at
 * the version If-Match names (412); the new values do not depend on the old, so without If-Match
 * the last writer wins and concurrent patches never conflict.
 */
export async function patchTenant(c: Context<AppEnv>, principal: Principal, idOrSlug: string, patch: { slug?: string; name?: string }) {
  const db = c.get("db");
  const named = sql`(id = ${idOrSlug} OR lower(slug) = lower(${idOrSlug})) AND deleted_at IS NULL`;
  const foreign = principal.kind === "platform" ? sql`0` : sql`tt.id IS NOT ${principal.tenantId}`;
  const guard = {
    caller: callerOf(principal),
    with: sql`tenant_row AS (SELECT id, version FROM tenants WHERE ${named})`,
    join: sql`LEFT JOIN tenant_row tt ON 1`,
    checks: [
      { refuses: sql`tt.id IS NULL OR ${foreign}`, answer: () => notFound("Tenant") },
      ifMatchCheck(c, "ten", sql`tt.id`, sql`tt.version`),
    ],
  };
  const update = db
    .update(tenants)
    .set({ ...patch, updatedAt: isoNow(), version: sql`${tenants.version} + 1` })
    .where(sql`id = (SELECT id FROM tenants WHERE ${named})`)
    .returning();
  const [updated] = await writeGuarded<[TenantRow[]]>(c, guard, [update]);
  return updated[0]!;
}
