import { sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import { batch } from "../db/batch";
import type { AppEnv, Db } from "../env";
import { errorMessage, mapDbError } from "../lib/db-errors";
import { ApiError } from "../lib/errors";
import { etagOf, preconditionFailed } from "../lib/etag";
import { passwordChangeRequired, sessionEnded } from "../middleware/authenticate";
import { can, tenantOf, type Principal } from "./principal";
import { liveSessionFrom, rolePermissionsJson } from "./repo";

/*
 * One D1 round trip per write. The session check and the permission checks of a write ride in
 * its batch as SQL guards: the batch's first statement evaluates every refusal, in the order the
 * API answers them, against the state the batch starts from, and inserts the first one that holds
 * into the `write_guard` view, whose trigger ABORTs (migrations/0005_write_guard.sql). D1 runs a
 * batch as one transaction, so a refusal rolls everything back; the ABORT's message names the
 * refusal and carries what SQL found (the permissions missing, the fields denied), from which
 * the same problem as before is rebuilt. The statements after the guard therefore run only when
 * every check passed, on the same snapshot the checks saw.
 */

/** A reason to refuse a write, stated in SQL (or known in JS already: then a boolean). */
export interface Check {
  refuses: SQL | boolean;
  /** A JSON value (json_object(…), json_group_array(…)) handed to `answer` when refused. */
  evidence?: SQL;
  answer: (evidence: never) => ApiError;
}

/** Who is writing, as far as SQL can tell. */
export interface WriteCaller {
  /** The tenant the request acts in; null for a platform principal that named none. */
  tenantId: string | null;
  userId: string | null;
  /** The resolved principal, or null while its session check waits for the write batch. */
  principal: Principal | null;
  /** The event `actor`. */
  actor: { kind: Principal["kind"]; id: string | null };
  /** The session to check in the batch (null when the principal is resolved). */
  session: { sessionId: string; checkedAt: string } | null;
}

export function writeCaller(c: Context<AppEnv>): WriteCaller {
  const pending = c.get("pendingSession");
  if (pending) {
    const { tenantId, userId } = c.get("caller");
    return {
      tenantId,
      userId,
      principal: null,
      actor: { kind: "user", id: userId },
      session: { sessionId: pending.sessionId, checkedAt: pending.checkedAt },
    };
  }
  return callerOf(c.get("principal"));
}

/** A resolved principal as a writer: its permissions are known in JS. */
export function callerOf(p: Principal): WriteCaller {
  return { tenantId: p.tenantId, userId: p.userId, principal: p, actor: { kind: p.kind, id: p.userId ?? p.keyId }, session: null };
}

/**
 * The writer of a service function that takes the principal: the session still to check when the
 * route defers it (the principal is not known yet), else that principal.
 */
export const writerFor = (c: Context<AppEnv>, principal: Principal | undefined): WriteCaller =>
  c.get("pendingSession") || !principal ? writeCaller(c) : callerOf(principal);

/** The tenant the write acts in (a platform principal must name one: 400, as `tenantOf`). */
export const tenantIn = (caller: WriteCaller): string => (caller.principal ? tenantOf(caller.principal) : caller.tenantId!);

/**
 * The first checks of every guard: the token's session is live, and no temporary password waits
 * (the `session` row of the guard's common table expressions).
 */
export function sessionChecks(caller: WriteCaller): Check[] {
  if (!caller.session) return [];
  return [
    { refuses: sql`NOT EXISTS (SELECT 1 FROM session)`, answer: sessionEnded },
    { refuses: sql`EXISTS (SELECT 1 FROM session WHERE password_change_required = 1)`, answer: passwordChangeRequired },
  ];
}

/** The common table expressions every guard may use: the caller's `session` and `held` permissions. */
function callerTables(caller: WriteCaller): SQL {
  const s = caller.session;
  if (!s) return sql`held AS (SELECT value FROM json_each(${JSON.stringify(caller.principal!.permissions)}))`;
  return sql`session AS (SELECT u.password_change_required ${liveSessionFrom(caller.tenantId!, caller.userId!, s.sessionId, s.checkedAt)}),
    held AS (SELECT hp.value FROM user_roles hr
      JOIN roles r ON r.tenant_id = hr.tenant_id AND r.name = hr.role
      JOIN json_each(${rolePermissionsJson("r")}) hp
      WHERE hr.tenant_id = ${caller.tenantId} AND hr.user_id = ${caller.userId})`;
}

/** `covers` of src/auth/permissions.ts in SQL: does `granted` include `wanted`? */
const covers = (granted: SQL, wanted: SQL) =>
  sql`(${granted} = '*' OR ${granted} = ${wanted} OR (${wanted} <> '*' AND instr(${wanted}, ':') > 0
    AND ${granted} = substr(${wanted}, 1, instr(${wanted}, ':')) || '*'))`;

/** Whether the caller holds `permission` (decided in JS when the principal is resolved). */
export function callerHolds(caller: WriteCaller, permission: string): SQL {
  if (caller.principal) return can(caller.principal, permission) ? sql`1` : sql`0`;
  return sql`EXISTS (SELECT 1 FROM held g, (SELECT ${permission} AS wanted) WHERE ${covers(sql`g.value`, sql`wanted`)})`;
}

/**
 * The permissions among `wanted` (rows of one column `value`) that the caller does not hold,
 * as rows of `value`: the privilege rule of src/roles/repo.ts, in SQL.
 */
export function missingPermissions(wanted: SQL): SQL {
  return sql`SELECT DISTINCT wanted AS value FROM (SELECT value AS wanted FROM (${wanted}))
    WHERE NOT EXISTS (SELECT 1 FROM held g WHERE ${covers(sql`g.value`, sql`wanted`)})`;
}

/** The permissions of the role row aliased `alias`, as rows of `value`. */
export const permissionsOfRoleRow = (alias: string) => sql`SELECT value FROM json_each(${rolePermissionsJson(alias)})`;

/** A JSON array of a one-column query's rows, in its order. */
export const jsonArrayOf = (rows: SQL) => sql`(SELECT json_group_array(value) FROM (${rows}))`;

/**
 * The rows of `value` among `candidates`, in their order: each a name and whether it is in.
 * (A JSON array rather than a compound SELECT, which D1 limits to a few terms.)
 */
export function namesWhere(candidates: [string, SQL][]): SQL {
  const items = candidates.map(([name, cond]) => sql`CASE WHEN ${cond} THEN ${name} END`);
  return sql`SELECT value FROM json_each(json_array(${sql.join(items, sql`, `)})) WHERE value IS NOT NULL ORDER BY key`;
}

/** The refusal a failing permission check answers with (requirePermission's). */
export const needs = (caller: WriteCaller, permission: string): Check => ({
  refuses: caller.principal ? !can(caller.principal, permission) : sql`NOT ${callerHolds(caller, permission)}`,
  answer: () => new ApiError("forbidden", `Missing permission ${permission}.`),
});

/**
 * If-Match on an object with a version counter: it must still be at a version one of the tags
 * names (`version`, SQL), else 412. No check without the header or with `*`. `id` is SQL when
 * only the database knows it (a tenant named by its slug).
 */
export function ifMatchCheck(c: Context<AppEnv>, kind: string, id: string | SQL, version: SQL): Check {
  const header = c.req.header("If-Match");
  if (header === undefined || header.trim() === "*") return { refuses: false, answer: preconditionFailed };
  const tags = header.split(",").map((tag) => tag.trim());
  if (typeof id !== "string") {
    // etagOf in SQL (ids are longer than the 8 characters it keeps).
    const current = sql`('"' || ${kind} || '-' || substr(${id}, -8) || '-' || ${version} || '"')`;
    return { refuses: sql`${current} NOT IN (SELECT value FROM json_each(${JSON.stringify(tags)}))`, answer: preconditionFailed };
  }
  const prefix = etagOf(kind, id, 0).slice(0, -2);
  const versions = tags
    .filter((tag) => tag.startsWith(prefix) && tag.endsWith('"') && /^\d+$/.test(tag.slice(prefix.length, -1)))
    .map((tag) => Number(tag.slice(prefix.length, -1)));
  return {
    refuses: versions.length ? sql`${version} NOT IN (${sql.join(versions.map((v) => sql`${v}`), sql`, `)})` : true,
    answer: preconditionFailed,
  };
}

/**
 * A row for a view whose INSTEAD OF trigger makes the write and first refuses with the row's
 * `failure` (migrations/0009_user_creations.sql): the guard and the write as one statement.
 */
export interface GuardedInsert {
  into: string;
  /** Column → value; `failure` is the guard's. */
  values: Record<string, unknown>;
}

/** `INSERT INTO view (failure, …) SELECT failure, …`: the guarded insert's statement, given its failure expression. */
function guardedInsertSql(ins: GuardedInsert, failure: SQL, from: SQL = sql``): SQL {
  const columns = Object.keys(ins.values);
  const values = sql.join(columns.map((k) => sql`${ins.values[k]}`), sql`, `);
  return sql`INSERT INTO ${sql.identifier(ins.into)} (failure, ${sql.raw(columns.join(", "))})
    SELECT ${failure}, ${values} ${from}`;
}

/** A guarded insert that nothing refuses (its trigger still makes the write). */
export const guardedInsert = (db: Db, ins: GuardedInsert) => db.run(guardedInsertSql(ins, sql`NULL`));

export interface Guard {
  caller: WriteCaller;
  /** More common table expressions the checks refer to (`name AS (…)`, comma-separated). */
  with?: SQL;
  /** Joined to the one row the checks are evaluated on: `LEFT JOIN target t ON 1`. */
  join?: SQL;
  checks: Check[];
  /**
   * Whether the pending session's principal is read in the batch and set afterwards (default):
   * a write that answers from its own statements' rows needs no principal, and skips that read.
   * The guard's session checks decide the refusals either way.
   */
  settlesPrincipal?: boolean;
  /** The write itself, when it is an insert into a guarded view: then the guard is that insert. */
  into?: GuardedInsert;
}

const MARK = '{"guard":';

/**
 * The guard's statement, or null when no check can refuse (everything was decided in JS). With
 * `guard.into` it is always that insert, its `failure` the first refusal (NULL when none).
 */
function guardStatement(db: Db, checks: Check[], guard: Guard) {
  if (checks.length === 0) return guard.into ? guardedInsert(db, guard.into) : null;
  const cases = checks.map((ch, i) => {
    const when = typeof ch.refuses === "boolean" ? sql.raw(ch.refuses ? "1" : "0") : ch.refuses;
    return sql`WHEN ${when} THEN json_object('guard', ${i}, 'evidence', json(${ch.evidence ?? sql`NULL`}))`;
  });
  const ctes = sql.join([callerTables(guard.caller), ...(guard.with ? [guard.with] : [])], sql`, `);
  const failure = sql`CASE ${sql.join(cases, sql` `)} END`;
  if (guard.into) {
    return db.run(sql`WITH ${ctes} ${guardedInsertSql(guard.into, failure, sql`FROM (SELECT 1) ${guard.join ?? sql``}`)}`);
  }
  return db.run(sql`WITH ${ctes} INSERT INTO write_guard (failure)
    SELECT failure FROM (SELECT ${failure} AS failure FROM (SELECT 1) ${guard.join ?? sql``})
    WHERE failure IS NOT NULL`);
}

/** The refusal an ABORT of the guard names, or undefined for any other failure. */
function refusal(checks: Check[], err: unknown): ApiError | undefined {
  const message = errorMessage(err);
  const start = message.indexOf(MARK);
  if (start < 0) return undefined;
  const failure = JSON.parse(message.slice(start, message.lastIndexOf("}") + 1)) as { guard: number; evidence: never };
  return checks[failure.guard]?.answer(failure.evidence);
}

/**
 * Runs a write as one batch: the guard, the pending session check's read (so the principal is
 * known afterwards, as for reads; unless `settlesPrincipal: false`), then `statements`. Returns the statements' results; a refusal
 * throws its problem, a constraint failure its 409 (src/lib/db-errors.ts), and nothing changes.
 */
export async function writeGuarded<R extends unknown[]>(c: Context<AppEnv>, guard: Guard, statements: BatchItem<"sqlite">[]): Promise<R> {
  const db = c.get("db");
  // Refusals known in JS before any that needs SQL are answered without a round trip.
  const firstInSql = guard.checks.findIndex((ch) => typeof ch.refuses !== "boolean");
  for (const ch of firstInSql < 0 ? guard.checks : guard.checks.slice(0, firstInSql)) {
    if (ch.refuses === true) throw ch.answer(undefined as never);
  }
  const checks = guard.checks.filter((ch) => ch.refuses !== false);
  const head = guardStatement(db, checks, guard);
  const pending = guard.settlesPrincipal === false ? undefined : c.get("pendingSession");
  const before = [...(head ? [head] : []), ...(pending ? [pending.statement()] : [])];
  let results: unknown[];
  try {
    results = await batch(db, [...before, ...statements] as [BatchItem<"sqlite">]);
  } catch (err) {
    // The guard's session checks ran first, so its refusal (or a failure after them) already
    // answers for the session: nothing is left pending for the error handler to check.
    if (head && guard.caller.session) c.set("pendingSession", undefined);
    throw refusal(checks, err) ?? mapDbError(err);
  }
  if (pending) {
    c.set("pendingSession", undefined);
    c.set("principal", pending.settle(results[before.length - 1]));
  }
  return results.slice(before.length) as R;
}
