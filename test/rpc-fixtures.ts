// Fixtures shared by the Workers RPC, middleware and client tests (test/rpc*.test.ts, test/client*.test.ts).
import { env } from "cloudflare:workers";
import { call, createUser, signIn } from "./helpers";

export interface CreatedKey {
  id: string;
  key: string;
  tenant_id: string | null;
  user_id: string | null;
}

/** `POST /v1/api-keys` as `token` (in `tenant` for a platform key), expecting 201. */
export async function createKey(token: string, body: Record<string, unknown>, tenant?: string): Promise<CreatedKey> {
  const res = await call("POST", "/v1/api-keys", { token, body, tenant });
  if (res.status !== 201) throw new Error(`createKey: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Moves a key's expiry into the past, as the clock would (the API refuses past expiries). */
export async function expireKey(id: string): Promise<void> {
  await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?").bind("2001-01-01T00:00:00.000Z", id).run();
}

/** A user created with a temporary password and signed in: a token good for the password change only. */
export async function temporaryPasswordToken(tenant: { id: string; slug: string }, email: string): Promise<string> {
  const password = "temporary-pass-1";
  await createUser(tenant.id, { email, password, temporary_password: true });
  const signedIn = await signIn(tenant.slug, { email }, password);
  if (signedIn.status !== 200 || signedIn.body.password_change_required !== true) {
    throw new Error(`temporaryPasswordToken: ${signedIn.status} ${JSON.stringify(signedIn.body)}`);
  }
  return signedIn.body.access_token;
}

/** The session id inside one of userplane's own access tokens. */
export const sessionIdOf = (token: string): string =>
  JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid;
