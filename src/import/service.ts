import type { Context } from "hono";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import { requirePermission, tenantOf, type Principal } from "../auth/principal";
import { readWithSession } from "../auth/deferred";
import { ApiError } from "../lib/errors";
import { mapDbError } from "../lib/db-errors";
import { newId } from "../lib/ids";
import { isoNow } from "../lib/time";
import type { RoleRecord } from "../roles/repo";
import { actorOf } from "../users/service";
import { planImport, type Plan } from "./plan";
import { findIdsElsewhere, findTouchedUsers, importStatements, tenantRoles, toState, type LoadedRow, type LookupKeys } from "./repo";
import type { ImportEnvelopeInput, ImportOptions, ImportResultBody, ItemResult } from "./schemas";

type Item = { index: number; raw: unknown };

/** How often a lone item is retried when users it touches change under it. */
const ITEM_ATTEMPTS = 3;

/**
 * `POST /v1/users/import`. The fast path is two round trips whatever the number of items: one
 * read of every user, id and role the items could touch (with the session check), then one
 * batch writing the whole plan. Should that batch be refused (a concurrent write took an email,
 * a user changed since it was read, a trigger refused), it changed nothing, and the items are
 * applied in halves, re-read and re-planned, down to the one item at fault: each item stands or
 * falls alone, and a few bad items cost a few dozen round trips, not one per item (a Worker
 * invocation may make at most 1,000 D1 queries).
 */
export async function importUsers(c: Context<AppEnv>, body: ImportEnvelopeInput): Promise<ImportResultBody> {
  const { users, ...options } = body;
  const items = users.map((raw, index) => ({ index, raw }));
  const { results } = await applyInParts(c, items, options, new Map(), monotonicIds());
  return summarise(results);
}

interface Applied {
  results: ItemResult[];
  refs: Map<string, string>;
}

async function applyInParts(
  c: Context<AppEnv>,
  items: Item[],
  options: ImportOptions,
  refs: Map<string, string>,
  ids: () => string,
  attempt = 1,
): Promise<Applied> {
  const round = await planRound(c, items, options, refs, ids);
  try {
    await write(c, round);
    return { results: round.plan.results, refs: round.plan.refs };
  } catch (err) {
    if (!(err instanceof ApiError) && !isStale(err)) throw err;
    if (items.length > 1) {
      const half = Math.ceil(items.length / 2);
      const first = await applyInParts(c, items.slice(0, half), options, refs, ids);
      const second = await applyInParts(c, items.slice(half), options, first.refs, ids);
      return { results: [...first.results, ...second.results], refs: second.refs };
    }
    if (isStale(err) && attempt < ITEM_ATTEMPTS) return applyInParts(c, items, options, refs, ids, attempt + 1);
    return { results: [{ index: items[0]!.index, status: "failed", errors: itemErrors(err) }], refs };
  }
}

interface Round {
  plan: Plan;
  principal: Principal;
  tenantId: string;
}

async function planRound(c: Context<AppEnv>, items: Item[], options: ImportOptions, refs: Map<string, string>, newUserId: () => string): Promise<Round> {
  const db = c.get("db");
  const tenantId = c.get("pendingSession") ? c.get("caller").tenantId : tenantOf(c.get("principal"));
  const keys = lookupKeys(items, refs);
  const [principal, [existing, elsewhere, roles]] = await readWithSession<[LoadedRow[], { id: string }[], Pick<RoleRecord, "name" | "permissions">[]]>(c, [
    findTouchedUsers(db, tenantId, keys),
    findIdsElsewhere(db, tenantId, keys.ids),
    tenantRoles(db, tenantId),
  ]);
  requirePermission(principal, "users:write");
  const plan = planImport({
    items,
    options,
    principal,
    existing: existing.map(toState),
    takenIds: new Set(elsewhere.map((r) => r.id)),
    roles,
    refs,
    newId: newUserId,
    now: isoNow(),
  });
  return { plan, principal, tenantId };
}

/** Every key an item could match, lower-cased where matching ignores case. */
function lookupKeys(items: Item[], refs: Map<string, string>): LookupKeys {
  const keys: LookupKeys = { emails: [], usernames: [], externalIds: [], ids: [] };
  const text = (v: unknown) => (typeof v === "string" && v.length <= 1024 ? v : null);
  for (const { raw } of items) {
    if (typeof raw !== "object" || raw === null) continue;
    const r = raw as Record<string, unknown>;
    const email = text(r.email);
    const username = text(r.username);
    const externalId = text(r.external_id);
    if (email) keys.emails.push(email.toLowerCase());
    if (username) keys.usernames.push(username.toLowerCase());
    if (externalId) keys.externalIds.push(externalId.toLowerCase());
    for (const id of [text(r.id), text(r.manager_id)]) if (id) keys.ids.push(refs.get(id) ?? id);
  }
  return keys;
}

async function write(c: Context<AppEnv>, { plan, principal, tenantId }: Round): Promise<void> {
  const statements = importStatements(c.get("db"), tenantId, plan.touched, actorOf(principal), isoNow());
  if (statements.length === 0) return;
  try {
    await batch(c.get("db"), statements as [(typeof statements)[number], ...typeof statements]);
  } catch (err) {
    if (isStale(err)) throw err;
    mapDbError(err);
  }
}

function itemErrors(err: unknown) {
  if (isStale(err)) return [{ path: "", message: "The user changed while it was being imported; retry the item.", code: "conflict" }];
  if (!(err instanceof ApiError)) throw err;
  return err.errors?.length ? err.errors.map((e) => ({ ...e, code: err.code === "conflict" ? "conflict" : e.code })) : [{ path: "", message: err.detail ?? err.title, code: err.code }];
}

function isStale(err: unknown): boolean {
  for (let e = err as { message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (String(e.message).includes("malformed JSON")) return true;
  }
  return false;
}

function summarise(results: ItemResult[]): ImportResultBody {
  const count = (status: ItemResult["status"]) => results.filter((r) => r.status === status).length;
  return { created: count("created"), updated: count("updated"), skipped: count("skipped"), failed: count("failed"), results };
}

/**
 * New user ids that sort in the order they are handed out (ids made in the same millisecond
 * would otherwise sort at random), so an export lists every manager before those they manage.
 */
function monotonicIds(): () => string {
  let last = "";
  let time = Date.now();
  return () => {
    let id = newId("usr", time);
    while (id <= last) id = newId("usr", ++time);
    last = id;
    return id;
  };
}
