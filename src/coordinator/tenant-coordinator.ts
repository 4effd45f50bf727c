import { DurableObject } from "cloudflare:workers";
import { dbOver } from "../db/client";
import type { Bindings, Db } from "../env";
import {
  isTenantMarked,
  markTenantDeleted,
  markUserTreeDeleted,
  nextPurgeChunk,
  purgeTenantRows,
  purgeUsers,
} from "../deletion/purge";

/** How soon the alarm retries a purge that a crash (or an eviction) left unfinished. */
const RESUME_AFTER_MS = 30_000;

export interface PurgeOptions {
  /**
   * Abandon the purge after this many chunks, as if the worker died there. Only tests pass it,
   * over RPC, to interrupt a cascade midway and prove that a retry or the alarm finishes it.
   */
  stopAfterChunks?: number;
}

/**
 * How a delete ended: done, cut short (the alarm will finish it), refused by an invariant, or
 * refused because the user is no longer at the version If-Match pinned.
 */
export type DeleteOutcome = "deleted" | "interrupted" | "last_owner" | "stale";

/**
 * One object per tenant (`idFromName(tenantId)`) coordinates that tenant's cascading deletes.
 * The database is the work queue (marked rows), so this object only needs to remember which
 * tenant it serves, and an alarm makes sure an interrupted purge always finishes.
 */
export class TenantCoordinator extends DurableObject<Bindings> {
  private readonly db: Db;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.db = dbOver(env.DB);
  }

  /**
   * Deletes a user and everyone they manage: mark (one transaction, invisible at once, one
   * `user.deleted` event each), then purge. Safe to call again for the same user.
   */
  async deleteUser(tenantId: string, userId: string, options: PurgeOptions = {}, ifVersion?: number): Promise<DeleteOutcome> {
    await this.remember(tenantId);
    try {
      const marked = await markUserTreeDeleted(this.db, tenantId, userId, ifVersion);
      if (ifVersion !== undefined && marked === 0) return "stale";
    } catch (err) {
      // The last-owner trigger: nothing was marked, nothing to finish.
      if (String((err as Error)?.message).includes("last_owner")) return "last_owner";
      throw err;
    }
    return this.purge(tenantId, false, options);
  }

  /** Deletes a whole tenant: mark it, purge its users chunk by chunk, then its own rows. */
  async deleteTenant(tenantId: string, options: PurgeOptions = {}, ifVersion?: number): Promise<DeleteOutcome> {
    await this.remember(tenantId);
    const marked = await markTenantDeleted(this.db, tenantId, ifVersion);
    if (ifVersion !== undefined && marked === 0) return "stale";
    return this.purge(tenantId, true, options);
  }

  /** Finishes whatever an earlier attempt left: marked users, or a marked tenant. */
  async resume(tenantId: string): Promise<DeleteOutcome> {
    await this.remember(tenantId);
    return this.purge(tenantId, await isTenantMarked(this.db, tenantId), {});
  }

  override async alarm(): Promise<void> {
    const tenantId = await this.ctx.storage.get<string>("tenant");
    if (tenantId) await this.resume(tenantId);
  }

  private async remember(tenantId: string): Promise<void> {
    await this.ctx.storage.put("tenant", tenantId);
    // Armed before any work: if this attempt dies anywhere, the alarm finishes the job.
    await this.ctx.storage.setAlarm(Date.now() + RESUME_AFTER_MS);
  }

  private async purge(tenantId: string, wholeTenant: boolean, { stopAfterChunks }: PurgeOptions): Promise<DeleteOutcome> {
    const resets = this.env.RESET_TOKENS.get(this.env.RESET_TOKENS.idFromName(tenantId));
    let chunks = 0;
    for (;;) {
      const ids = await nextPurgeChunk(this.db, tenantId, wholeTenant);
      if (ids.length === 0) break;
      await resets.purgeUsers(ids);
      await purgeUsers(this.db, tenantId, ids);
      chunks++;
      if (stopAfterChunks !== undefined && chunks >= stopAfterChunks) return "interrupted";
    }
    if (wholeTenant) {
      await resets.purgeAll();
      await purgeTenantRows(this.db, tenantId);
    }
    await this.ctx.storage.deleteAlarm();
    return "deleted";
  }
}
