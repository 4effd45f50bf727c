import { env, exports } from "cloudflare:workers";
import { signAccessToken } from "../src/auth/tokens";
import { newId } from "../src/lib/ids";

/** The platform key the test pool configures (vitest.config.ts). */
export const PLATFORM_KEY = "up_test_bootstrap_key_0123456789abcdefghijklmnopqrstuv";

export interface CallOptions {
  /** Bearer credential: an access token or an API key. */
  token?: string;
  /** Body: objects are sent as JSON; strings are sent as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  /** X-Tenant (platform principals). */
  tenant?: string;
}

/** One request through the worker's own fetch, exactly as a client would send it. */
export function api(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization ??= `Bearer ${opts.token}`;
  if (opts.tenant) headers["X-Tenant"] = opts.tenant;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  return exports.default.fetch(new Request(`http://userplane.test${path}`, { method, headers, body }));
}

/** `api` that also parses the body (JSON or problem+json). */
export async function call<T = any>(method: string, path: string, opts: CallOptions = {}) {
  const res = await api(method, path, opts);
  const text = await res.text();
  const json = text ? (JSON.parse(text) as T) : (undefined as T);
  return { res, status: res.status, body: json, headers: res.headers };
}

let counter = 0;
/** A slug no other test uses, so tests never share state. */
/**
 * Digits only after the prefix: every owner's email carries its tenant's slug, and a base-36 stamp
 * put random letters there that short search terms ("bo", "nn", "ok") hit now and then.
 */
export const uniqueSlug = (prefix = "t") => `${prefix}-${Date.now()}-${counter++}`;

export interface TenantFixture {
  tenant: { id: string; slug: string; name: string };
  owner: { id: string; email: string };
  ownerPassword: string;
  /** An access token of the owner (a real session row, signed by the service's own key). */
  ownerToken: string;
}

/** Creates a tenant with an owner through the API, and a token for the owner. */
export async function createTenant(name = "Test"): Promise<TenantFixture> {
  const slug = uniqueSlug();
  const email = `owner@${slug}.test`;
  const ownerPassword = "owner-password-1";
  const created = await call("POST", "/v1/tenants", {
    token: PLATFORM_KEY,
    body: { slug, name, owner: { email, password: ownerPassword } },
  });
  if (created.status !== 201) throw new Error(`createTenant: ${created.status} ${JSON.stringify(created.body)}`);
  const tenant = created.body;
  const owner = await call("GET", `/v1/users?email=${encodeURIComponent(email)}`, { token: PLATFORM_KEY, tenant: tenant.id });
  const ownerRow = owner.body.items[0];
  return { tenant, owner: ownerRow, ownerPassword, ownerToken: await tokenFor(tenant.id, ownerRow.id) };
}

/** Creates a user in the tenant (as the platform key), returning the User body. */
export async function createUser(tenantId: string, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/users", { token: PLATFORM_KEY, tenant: tenantId, body });
  if (res.status !== 201) throw new Error(`createUser: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * An access token for a user without a sign-in: a session row written straight to D1 and a
 * token signed by the same code (and key store) the service signs with.
 */
export async function tokenFor(tenantId: string, userId: string): Promise<string> {
  const sessionId = newId("ses");
  const now = new Date().toISOString();
  const later = new Date(Date.now() + 86_400_000).toISOString();
  await env.DB.prepare(
    "INSERT INTO sessions (id, tenant_id, user_id, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
  )
    .bind(sessionId, tenantId, userId, now, now, later)
    .run();
  const { token } = await signAccessToken(env, { sub: userId, tid: tenantId, sid: sessionId });
  return token;
}

/** A user with the given roles and a token for them. */
export async function userWithToken(tenantId: string, body: Record<string, unknown>) {
  const user = await createUser(tenantId, body);
  return { user, token: await tokenFor(tenantId, user.id) };
}

/** The millisecond an id was made at: its first 10 characters after the prefix, Crockford base32. */
export function idTimeMs(id: string): number {
  const digits = "0123456789abcdefghjkmnpqrstvwxyz";
  return [...id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11)].reduce((ms, ch) => ms * 32 + digits.indexOf(ch), 0);
}

/** Asserts the RFC 9457 shape and returns the problem body. */
export async function expectProblem(res: Response, status: number, code: string) {
  const text = await res.text();
  const body = JSON.parse(text);
  if (res.status !== status || body.code !== code || !res.headers.get("content-type")?.startsWith("application/problem+json")) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.headers.get("content-type")} ${text}`);
  }
  return body as { type: string; title: string; status: number; detail: string; code: string; errors?: { path: string; message: string; code: string }[] };
}

/** Signs in through `POST /v1/auth/token` (email by default); returns the raw call result. */
export function signIn(
  tenant: string,
  login: { email?: string; username?: string },
  password: string,
  headers: Record<string, string> = {},
) {
  return call("POST", "/v1/auth/token", { body: { tenant, ...login, password }, headers });
}
