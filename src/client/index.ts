/**
 * `userplane/client`: a typed client of the userplane HTTP API, for Workers, Node 20+ and
 * browsers (fetch only). It is openapi-fetch's own `createClient` over the types generated from
 * /openapi.json (`api`, every route typed), with middleware for the credential, Idempotency-Key
 * and retries, and a few helpers on top for what every application does with users.
 *
 *   const userplane = createUserplaneClient({ baseUrl: "https://users.example.com", credential: key });
 *   for await (const user of userplane.users.list({ search: "ada" })) console.log(user.email);
 *
 * From a Worker with a service binding, hand it the binding instead of a URL:
 *   createUserplaneClient({ binding: env.USERPLANE, credential: token });
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";
import { credentialMiddleware, idempotencyMiddleware, retryMiddleware, type CredentialSource, type RetryOptions } from "./middleware";

export type { paths, components, operations } from "./schema";
export { credentialMiddleware, idempotencyMiddleware, retryMiddleware, retryDelay } from "./middleware";
export type { CredentialSource, RetryOptions } from "./middleware";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type Query<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

/** A User as `GET /v1/users/{id}` answers it. */
export type User = Json<paths["/v1/users/{id}"]["get"]["responses"][200]>;
/** A list item of `GET /v1/users`: a User with `access` and `scopes`. */
export type ListedUser = Json<paths["/v1/users"]["get"]["responses"][200]>["items"][number];
export type CreateUserBody = NonNullable<paths["/v1/users"]["post"]["requestBody"]>["content"]["application/json"];
export type UserPatch = NonNullable<paths["/v1/users/{id}"]["patch"]["requestBody"]>["content"]["application/json"];
/** The filters and sort of `GET /v1/users`; the cursor is the iterator's business. */
export type UserListQuery = Omit<Query<"/v1/users">, "cursor" | "page" | "page_size">;
/** The RFC 9457 problem every error answer carries. */
export type Problem = components["schemas"]["Problem"];

export interface UserplaneClientOptions {
  /** Where userplane answers (`https://users.example.com`); with `binding`/`fetch` it may be left out. */
  baseUrl?: string;
  /** A service binding to userplane (`env.USERPLANE`): requests go through it, with no network hop. */
  binding?: { fetch(request: Request): Promise<Response> };
  /** Any other fetch (tests, a proxy); the global `fetch` by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** The access token or API key sent as `Authorization: Bearer …`, or a function giving it. */
  credential?: CredentialSource;
  /** For a platform key: the tenant to act in (sent as `X-Tenant`). */
  tenant?: string;
  /** 429/503 retries after Retry-After (bounded); `false` turns them off. */
  retry?: RetryOptions | false;
}

/** A non-2xx answer, with its problem details. */
export class UserplaneError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
    readonly response: Response,
  ) {
    super(`${status} ${problem?.code ?? "error"}${problem?.detail ? `: ${problem.detail}` : ""}`);
    this.name = "UserplaneError";
  }
  get code(): string | undefined {
    return this.problem?.code;
  }
}

/** A single object and the ETag to send back as If-Match. */
export interface Versioned<T> {
  data: T;
  etag: string | null;
  response: Response;
}

interface Outcome {
  data?: unknown;
  error?: unknown;
  response: Response;
}

function expectOk<T>({ data, error, response }: Outcome): Versioned<T> {
  if (!response.ok) throw new UserplaneError(response.status, error as Partial<Problem> | undefined, response);
  return { data: data as T, etag: response.headers.get("ETag"), response };
}

const ifMatch = (etag: string | null | undefined) => (etag ? { "If-Match": etag } : {});

/** Builds the client: `api` (openapi-fetch, every route typed) and the helpers. */
export function createUserplaneClient(options: UserplaneClientOptions) {
  const { binding } = options;
  const fetcher = options.fetch ?? (binding ? (request: Request) => binding.fetch(request) : undefined);
  const baseUrl = options.baseUrl ?? (fetcher ? "https://userplane.internal" : undefined);
  if (!baseUrl) throw new TypeError("createUserplaneClient: give baseUrl, binding or fetch");
  const api: Client<paths> = createClient<paths>({ baseUrl, ...(fetcher ? { fetch: fetcher } : {}) });
  api.use(credentialMiddleware(options.credential, options.tenant), idempotencyMiddleware());
  if (options.retry !== false) api.use(retryMiddleware(options.retry));

  const users = {
    /** Every user the caller sees, page after page (`limit` sets the page size). */
    async *list(query: UserListQuery = {}): AsyncGenerator<ListedUser, void, undefined> {
      let cursor: string | undefined;
      do {
        const page = expectOk<Json<paths["/v1/users"]["get"]["responses"][200]>>(
          await api.GET("/v1/users", { params: { query: { ...query, ...(cursor ? { cursor } : {}) } } }),
        ).data;
        yield* page.items;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    },
    async get(id: string): Promise<Versioned<User>> {
      return expectOk(await api.GET("/v1/users/{id}", { params: { path: { id } } }));
    },
    async me(): Promise<Versioned<User>> {
      return expectOk(await api.GET("/v1/users/me"));
    },
    /** Sent with an Idempotency-Key (yours, or a new one): a retried create never creates twice. */
    async create(body: CreateUserBody, opts: { idempotencyKey?: string } = {}): Promise<Versioned<User>> {
      const header = opts.idempotencyKey ? { "Idempotency-Key": opts.idempotencyKey } : {};
      return expectOk(await api.POST("/v1/users", { body, params: { header } }));
    },
    /** A JSON Merge Patch; with `ifMatch` (the ETag you read) a stale edit is a 412. */
    async update(id: string, patch: UserPatch, opts: { ifMatch?: string | null } = {}): Promise<Versioned<User>> {
      return expectOk(await api.PATCH("/v1/users/{id}", { params: { path: { id }, header: ifMatch(opts.ifMatch) }, body: patch }));
    },
    async delete(id: string, opts: { ifMatch?: string | null } = {}): Promise<void> {
      expectOk(await api.DELETE("/v1/users/{id}", { params: { path: { id }, header: ifMatch(opts.ifMatch) } }));
    },
  };

  const permissions = {
    /** Whether the caller holds `permission` (`resource:action`): false on 403, throws on others. */
    async check(permission: string): Promise<boolean> {
      const outcome = await api.GET("/v1/permissions/check", { params: { query: { permission } } });
      if (outcome.response.status === 403 && (outcome.error as Partial<Problem> | undefined)?.code === "forbidden") return false;
      return expectOk<{ allowed: boolean }>(outcome).data.allowed;
    },
  };

  return { api, users, permissions };
}

export type UserplaneClient = ReturnType<typeof createUserplaneClient>;
