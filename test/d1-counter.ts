import { env } from "cloudflare:workers";
import { createApp } from "../src/app";

/**
 * A D1 binding that counts round trips: every statement execution (`first`, `all`, `run`,
 * `raw`) and every `batch`/`exec` is one trip to the database in production, on the binding or
 * on any session opened from it (`withSession`). It counts the statements sent (a batch's
 * each, refused or not) and sums the rows D1 reports each statement read (`meta.rows_read`);
 * `first` and `raw` report none, so the statements run that way are counted as `unmeasured`.
 */
export function countingD1(db: D1Database) {
  const counter = { trips: 0, log: [] as string[], rowsRead: 0, statements: 0, unmeasured: 0, rowsByStatement: [] as number[] };
  const measure = (result: unknown) => {
    for (const r of (Array.isArray(result) ? result : [result]) as D1Result[]) {
      counter.rowsRead += r.meta.rows_read;
      counter.rowsByStatement.push(r.meta.rows_read);
    }
    return result;
  };
  const wrapStatement = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(value.apply(target, args), sql);
        if (["first", "all", "run", "raw"].includes(prop as string)) {
          return (...args: unknown[]) => {
            counter.trips++;
            counter.statements++;
            counter.log.push(sql);
            const result = value.apply(target, args) as Promise<unknown>;
            if (prop === "first" || prop === "raw") {
              counter.unmeasured++;
              return result;
            }
            return result.then(measure);
          };
        }
        return value.bind(target);
      },
    });
  // The binding and every D1 session made from it (`withSession`, as each request does) count alike.
  const wrapDatabase = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(inner, prop, receiver) {
        const value = Reflect.get(inner, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "prepare") return (sql: string) => wrapStatement(value.call(inner, sql), sql);
        if (prop === "withSession") return (...args: unknown[]) => wrapDatabase(value.apply(inner, args));
        if (prop === "batch" || prop === "exec") {
          return (...args: unknown[]) => {
            counter.trips++;
            counter.statements += Array.isArray(args[0]) ? args[0].length : 1;
            counter.log.push(`${String(prop)}(${Array.isArray(args[0]) ? args[0].length : 1})`);
            // Statements in a batch are unwrapped by D1 itself; hand it the originals.
            const result = value.apply(inner, args) as Promise<unknown>;
            return prop === "batch" ? result.then(measure) : result;
          };
        }
        return value.bind(inner);
      },
    });
  const wrapped = wrapDatabase(db);
  return { db: wrapped as D1Database, counter };
}

const app = createApp();

/** Sends a request through the app with a counting D1 binding; returns the response and trips. */
export async function countTrips(request: Request) {
  const { db, counter } = countingD1(env.DB);
  const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
  const res = await app.fetch(request, { ...env, DB: db }, ctx);
  const { trips, log, rowsRead, statements, unmeasured, rowsByStatement } = counter;
  return { res, trips, log, rowsRead, statements, unmeasured, rowsByStatement };
}
