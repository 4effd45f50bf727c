import type { Context, ExecutionContext } from "hono";
import type { Bindings } from "../env";
import type { ConsoleContext } from "./context";
import type { FieldError } from "../lib/errors";

/** What the console needs of the API app: its own fetch, called in-process. */
export interface ApiApp {
  fetch: (request: Request, env: Bindings, executionCtx?: ExecutionContext) => Response | Promise<Response>;
}

/** An RFC 9457 problem as the API answers it. */
export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: FieldError[];
}

export interface ApiAnswer<T> {
  status: number;
  ok: boolean;
  headers: Headers;
  /** The parsed JSON body (a Problem when !ok), undefined for an empty body. */
  body: T;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/** Headers of the browser's request that the API's own rules read (throttles, session rows). */
const FORWARDED_HEADERS = ["CF-Connecting-IP", "User-Agent"];

/**
 * The console performs every action as a request to the /v1 API, dispatched in-process through
 * the same app with the signed-in user's token as the bearer credential: validation,
 * permissions, If-Match, idempotency and every other rule are the API's own, written once.
 * Reads of one console request carry the newest `X-Userplane-Bookmark` seen, so a page shown
 * after a write reads that write even from a replica.
 */
export class ConsoleApi {
  bookmark: string | undefined;

  constructor(
    private readonly app: ApiApp,
    private readonly c: ConsoleContext,
    public token: string | undefined,
    bookmark?: string,
  ) {
    this.bookmark = bookmark;
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer<T>> {
    const headers = new Headers(options.headers);
    if (this.token) headers.set("Authorization", `Bearer ${this.token}`);
    if (options.body !== undefined) headers.set("Content-Type", "application/json");
    if (this.bookmark) headers.set("X-Userplane-Bookmark", this.bookmark);
    for (const name of FORWARDED_HEADERS) {
      const value = this.c.req.header(name);
      if (value) headers.set(name, value);
    }
    const request = new Request(new URL(path, this.c.req.url), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const res = await this.app.fetch(request, this.c.env, executionContext(this.c));
    const bookmark = res.headers.get("X-Userplane-Bookmark");
    if (bookmark) this.bookmark = bookmark;
    const answer: ApiAnswer<T> = { status: res.status, ok: res.ok, headers: res.headers, body: parseJson(await res.text()) as T };
    if (this.bookmark && !bookmark && refusedBookmark(answer)) {
      // A bookmark kept from before (a cookie, a URL) that this database no longer knows: read
      // without it rather than fail every page until the cookie expires.
      this.bookmark = undefined;
      return this.call<T>(method, path, options);
    }
    return answer;
  }

  /** The same client acting as the session's user. */
  as(token: string, bookmark: string | undefined): ConsoleApi {
    return new ConsoleApi(this.app, this.c, token, bookmark);
  }

  get<T = unknown>(path: string, options?: CallOptions) {
    return this.call<T>("GET", path, options);
  }
}

/** A 422 that names the bookmark header among its bad fields. */
const refusedBookmark = (answer: ApiAnswer<unknown>) =>
  answer.status === 422 && ((answer.body as Partial<Problem>)?.errors ?? []).some((e) => /bookmark/i.test(e.path));

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Hono's getter throws where there is none (app.request in tests); the API copes without. */
export function executionContext(c: Context): ExecutionContext | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/** The problem of a failed answer, with a readable fallback for a body that is not one. */
export function problemOf(answer: ApiAnswer<unknown>): Problem {
  const body = answer.body as Partial<Problem> | undefined;
  return {
    status: answer.status,
    code: body?.code ?? "error",
    title: body?.title ?? "Error",
    detail: body?.detail ?? `The API answered ${answer.status}.`,
    errors: body?.errors,
  };
}

/** A query string from the values that are set (undefined and "" left out). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : "";
}
