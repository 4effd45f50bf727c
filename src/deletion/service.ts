import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv, Bindings } from "../env";
import { can, tenantOf, userOf, type Principal } from "../auth/principal";
import { expectedVersion, preconditionFailed } from "../lib/etag";
import { forbidden, notFound } from "../lib/errors";
import { assertCanActOnUser } from "../roles/repo";
import { lastOwner } from "../lib/db-errors";
import { findVisibleUser, lastOwnerOr, type UserRow } from "../users/repo";
import { viewerOf } from "../users/service";

const coordinator = (env: Bindings, tenantId: string) => env.COORDINATOR.get(env.COORDINATOR.idFromName(tenantId));

/**
 * `DELETE /v1/users/{id}`: the caller needs users:delete, or must be the user's manager or the
 * user. A user already marked by an interrupted delete is finished off (204) rather than 404,
 * so a retry after a crash completes the job.
 */
export async function deleteUser(c: Context<AppEnv>, principal: Principal, id: string): Promise<void> {
  const db = c.get("db");
  const tenantId = tenantOf(principal);
  const targetId = id === "me" ? userOf(principal) : id;
  const target = await findVisibleUser(db, viewerOf(principal), targetId);
  if (!target) {
    if (await isMarkedDeleted(c, tenantId, targetId)) {
      await coordinator(c.env, tenantId).resume(tenantId);
      return;
    }
    throw notFound("User");
  }
  assertMayDelete(principal, target);
  // Checked here for the usual stale tag, and again in the delete's own statement for a change
  // that lands between this read and it.
  const pinned = expectedVersion(c, "usr", target.id, target.version);
  await assertCanActOnUser(db, principal, tenantId, target.id, "delete").catch((refused: unknown) =>
    lastOwnerOr(db, tenantId, target.id, refused),
  );
  const outcome = await coordinator(c.env, tenantId).deleteUser(tenantId, target.id, {}, pinned);
  if (outcome === "last_owner") throw lastOwner();
  if (outcome === "stale") throw preconditionFailed();
}

function assertMayDelete(principal: Principal, target: UserRow): void {
  if (can(principal, "users:delete") || target.access === "self" || target.access === "managed") return;
  throw forbidden("Deleting this user needs users:delete, or being the user or their manager.");
}

/**
 * Only a user the caller could have deleted counts: the row must still say who managed it or
 * be the caller (or the caller must hold users:delete).
 */
async function isMarkedDeleted(c: Context<AppEnv>, tenantId: string, id: string): Promise<boolean> {
  const p = c.get("principal");
  const row = await c.get("db").get<{ id: string }>(sql`SELECT id FROM users
    WHERE tenant_id = ${tenantId} AND id = ${id} AND deleted_at IS NOT NULL
      AND (${can(p, "users:delete") ? 1 : 0} = 1 OR id = ${p.userId} OR manager_id = ${p.userId})`);
  return row !== undefined;
}

/** `DELETE /v1/tenants/{id}`: hands the cascade to the tenant's coordinator (412 when it moved on from `ifVersion`). */
export async function deleteTenant(env: Bindings, tenantId: string, ifVersion?: number): Promise<void> {
  if ((await coordinator(env, tenantId).deleteTenant(tenantId, {}, ifVersion)) === "stale") throw preconditionFailed();
}

/** A tenant whose delete started but did not finish: a retried DELETE completes it. */
export async function resumeTenantDeletion(c: Context<AppEnv>, idOrSlug: string): Promise<boolean> {
  const row = await c.get("db").get<{ id: string }>(sql`SELECT id FROM tenants
    WHERE (id = ${idOrSlug} OR lower(slug) = lower(${idOrSlug})) AND deleted_at IS NOT NULL`);
  if (!row) return false;
  await coordinator(c.env, row.id).resume(row.id);
  return true;
}
