import { env } from "cloudflare:workers";
import { createApp } from "../src/app";

/** What a watched D1 binding reports (every hook optional). */
export interface D1Hooks {
  /** A statement is prepared. */
  prepare?(sql: string): void;
  /** A prepared statement is bound to its parameters. */
  bind?(sql: string, params: unknown[]): void;
  /** A statement runs on its own (`first`, `all`, `run`, `raw`): `send` runs it. */
  run?(sql: string, method: string, send: () => Promise<unknown>): Promise<unknown>;
  /** A `batch` or `exec` is sent: `send` sends it. */
  batch?(method: "batch" | "exec", args: unknown[], send: () => Promise<unknown>): Promise<unknown>;
  /** A D1 session is opened with this constraint or bookmark. */
  session?(start: unknown): void;
}

/**
 * A D1 binding that tells `hooks` what is done with it: on the binding itself and on every D1
 * session opened from it (each request runs in one), so tests can count, record or interleave
 * the app's queries on the real database. Statements in a batch are the originals D1 prepared.
 */
export function watchD1(db: D1Database, hooks: D1Hooks): D1Database {
  const wrapStatement = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "bind") {
          return (...params: unknown[]) => {
            hooks.bind?.(sql, params);
            return wrapStatement(value.apply(target, params), sql);
          };
        }
        if (hooks.run && ["first", "all", "run", "raw"].includes(prop as string)) {
          return (...args: unknown[]) => hooks.run!(sql, prop as string, () => value.apply(target, args));
        }
        return value.bind(target);
      },
    });
  const wrapDatabase = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(inner, prop, receiver) {
        const value = Reflect.get(inner, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "prepare") {
          return (sql: string) => {
            hooks.prepare?.(sql);
            return wrapStatement(value.call(inner, sql), sql);
          };
        }
        if (prop === "withSession") {
          return (...args: unknown[]) => {
            hooks.session?.(args[0]);
            return wrapDatabase(value.apply(inner, args));
          };
        }
        if (hooks.batch && (prop === "batch" || prop === "exec")) {
          return (...args: unknown[]) => hooks.batch!(prop, args, () => value.apply(inner, args));
        }
        return value.bind(inner);
      },
    });
  return wrapDatabase(db);
}

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
  const counted = watchD1(db, {
    run(sql, method, send) {
      counter.trips++;
      counter.statements++;
      counter.log.push(sql);
      if (method === "first" || method === "raw") {
        counter.unmeasured++;
        return send();
      }
      return send().then(measure);
    },
    batch(method, args, send) {
      const size = Array.isArray(args[0]) ? args[0].length : 1;
      counter.trips++;
      counter.statements += size;
      counter.log.push(`${method}(${size})`);
      return method === "batch" ? send().then(measure) : send();
    },
  });
  return { db: counted, counter };
}

const app = createApp();
const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

/** Sends a request through the app with `db` (a watched or counting binding) as its D1. */
export function fetchWithD1(request: Request, db: D1Database): Promise<Response> {
  return Promise.resolve(app.fetch(request, { ...env, DB: db }, ctx));
}

/** Sends a request through the app with a counting D1 binding; returns the response and trips. */
export async function countTrips(request: Request) {
  const { db, counter } = countingD1(env.DB);
  const res = await fetchWithD1(request, db);
  const { trips, log, rowsRead, statements, unmeasured, rowsByStatement } = counter;
  return { res, trips, log, rowsRead, statements, unmeasured, rowsByStatement };
}
