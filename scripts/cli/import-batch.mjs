// One import batch: POST /v1/users/import with the batch's Idempotency-Key, read back the
// per-item results, and when the server refuses the envelope naming some items (422 with
// `users.N.…` paths), fail those items and send the others again under a derived key.
import { describeProblem, readProblem } from "./client.mjs";
import { CliError } from "./options.mjs";

/** The contract's body limit is 5 MiB; batches stay under this so none is refused as too large. */
export const MAX_BATCH_BYTES = 4.5 * 1024 * 1024;
const MAX_RESENDS = 3;
const ITEM_PATH = /^\/?users[.[/](\d+)\]?(?:[./](.*))?$/;

/**
 * Sends `items` (`{ line, text, user }`) and returns one outcome per item, in order:
 * `{ status: "created" | "updated" | "skipped" | "failed", id?, errors? }`.
 * @param {{ request: Function }} client
 * @param {{ on_conflict: string, ids: string, hash_config?: object }} envelope
 */
export async function sendBatch(client, items, envelope, idempotencyKey) {
  const outcomes = new Array(items.length);
  let pending = items.map((item, index) => ({ item, index }));
  for (let resend = 0; pending.length > 0; resend++) {
    const key = resend === 0 ? idempotencyKey : `${idempotencyKey}-r${resend}`;
    const body = JSON.stringify({ ...envelope, users: pending.map(({ item }) => item.user) });
    const response = await client.request("POST", "v1/users/import", {
      body,
      headers: { "content-type": "application/json", "idempotency-key": key },
    });
    if (response.status === 200) {
      const answer = await response.json().catch(() => null);
      const results = answer?.results;
      if (!Array.isArray(results) || results.length !== pending.length) {
        throw new CliError(`POST /v1/users/import answered 200 without one result per user (${pending.length} sent)`);
      }
      results.forEach((result, i) => {
        outcomes[pending[i].index] = { status: result.status, id: result.id, errors: result.errors };
      });
      return outcomes;
    }
    const problem = await readProblem(response);
    const named = response.status === 422 ? itemErrors(problem.errors ?? [], pending.length) : null;
    if (!named || resend >= MAX_RESENDS) {
      throw new CliError(describeProblem(problem, `POST /v1/users/import (batch of lines ${items[0].line}–${items.at(-1).line})`));
    }
    for (const [position, errors] of named) outcomes[pending[position].index] = { status: "failed", errors };
    pending = pending.filter((_, position) => !named.has(position));
  }
  return outcomes;
}

/**
 * The envelope's errors by item position when every one of them names an item (`users.3.email`),
 * else null (the request itself is wrong: the CLI cannot fix it by leaving items out).
 */
function itemErrors(errors, count) {
  if (errors.length === 0) return null;
  const byItem = new Map();
  for (const error of errors) {
    const match = ITEM_PATH.exec(String(error.path ?? ""));
    const position = match ? Number(match[1]) : -1;
    if (position < 0 || position >= count) return null;
    const list = byItem.get(position) ?? [];
    list.push({ ...error, path: match[2] ?? "" });
    byItem.set(position, list);
  }
  return byItem;
}
