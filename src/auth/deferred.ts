import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { BatchItem } from "drizzle-orm/batch";
import { batch } from "../db/batch";
import type { AppEnv } from "../env";
import type { Principal } from "./principal";
import { ApiError } from "../lib/errors";

/**
 * One D1 round trip for authenticated reads. For routes marked `sessionInBatch()`, the
 * authenticate middleware only verifies the access token (no database) and leaves the session
 * check pending; the handler then sends that check in the same `batch()` as its own read. The
 * read may only depend on what the verified token says (tenant, user), never on permissions the
 * check has not confirmed yet: permission-dependent parts are either computed in SQL or checked
 * on the rows afterwards, and nothing is answered before the check passes. Writes go further:
 * their session and permission checks are SQL guards of the write batch (src/auth/guards.ts).
 */
export interface PendingSession {
  /** The session + user + roles lookup (src/auth/repo.ts), built when a batch takes it (a route may read the session its own way). */
  statement: () => BatchItem<"sqlite">;
  /** Turns its row into the principal, or throws the same 401/403 the middleware would. */
  settle: (row: unknown) => Principal;
  /** The session the token names and the instant it is checked at (for write guards, src/auth/guards.ts). */
  sessionId: string;
  checkedAt: string;
}

/** Who the token says is calling, known before any database read. */
export interface Caller {
  tenantId: string;
  userId: string | null;
}

const marked = new WeakSet<object>();

/** Marks a route whose handler batches the session check with its own read. */
export function sessionInBatch(): MiddlewareHandler<AppEnv> {
  const mw: MiddlewareHandler<AppEnv> = async function sessionInBatchMarker(_c, next) {
    await next();
  };
  marked.add(mw);
  return mw;
}

/**
 * Whether this request's session check waits for the handler's batch. Not with an
 * Idempotency-Key: the key is claimed under the principal before the handler runs.
 */
export const defersSessionCheck = (c: Context<AppEnv>) =>
  c.req.header("Idempotency-Key") === undefined && matchedRoutes(c).some((r) => marked.has(r.handler));

/**
 * Runs `statements` with the pending session check (if any) in one batch and returns the
 * principal with the statements' results.
 */
export async function readWithSession<R extends unknown[]>(
  c: Context<AppEnv>,
  statements: BatchItem<"sqlite">[],
): Promise<[Principal, R]> {
  const pending = c.get("pendingSession");
  if (!pending) {
    const results = statements.length ? await batch(c.get("db"), statements as [BatchItem<"sqlite">]) : [];
    return [c.get("principal"), results as unknown as R];
  }
  const [row, ...results] = await batch(c.get("db"), [pending.statement(), ...statements]);
  c.set("pendingSession", undefined); // checked now, whatever settle answers
  const principal = pending.settle(row);
  c.set("principal", principal);
  return [principal, results as unknown as R];
}

/**
 * The answer for an error raised while the session check was still pending (bad input, a check
 * made in JS before the batch): a token whose session has ended, or that may only change its
 * temporary password, gets that 401 or 403 first, as when the check runs up front. It costs a
 * trip on this error path only; a 401 needs no session to tell.
 */
export async function sessionAnswersFirst(c: Context<AppEnv>, err: ApiError): Promise<ApiError> {
  if (!c.get("pendingSession") || err.status === 401) return err;
  try {
    await readWithSession(c, []);
  } catch (refusal) {
    if (refusal instanceof ApiError) return refusal;
  }
  return err;
}
