import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Principal } from "./auth/principal";
import type { Caller, PendingSession } from "./auth/deferred";
import type { KeyStore } from "./keys/key-store";
import type { TenantCoordinator } from "./coordinator/tenant-coordinator";
import type { Throttle } from "./sign-in/throttle";
import type { ResetTokens } from "./resets/reset-tokens";
import type { WebhookMessage } from "./webhooks/messages";

/** Bindings and configuration the Worker receives (wrangler.toml, secrets, `.dev.vars`). */
export interface Bindings {
  DB: D1Database;
  COORDINATOR: DurableObjectNamespace<TenantCoordinator>;
  KEYS: DurableObjectNamespace<KeyStore>;
  RESET_TOKENS: DurableObjectNamespace<ResetTokens>;
  THROTTLE: DurableObjectNamespace<Throttle>;
  /** Platform key: full control over tenants. Compared in constant time. */
  BOOTSTRAP_API_KEY?: string;
  /** Pinned signing keys: a JSON array of private Ed25519/ES256/RS256 JWKs with `kid`; the first signs. */
  SIGNING_KEYS?: string;
  SIGNING_KEY_ROTATION_DAYS?: string;
  ACCESS_TOKEN_TTL_SECONDS?: string;
  REFRESH_TOKEN_TTL_SECONDS?: string;
  /** External identity provider (all optional; enabled when JWT_JWKS_URL is set). */
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  JWT_TENANT_CLAIM?: string;
  /** scrypt cost as `N,r,p` (default from the OWASP cheat sheet, see src/sign-in/password.ts). */
  PASSWORD_SCRYPT_PARAMS?: string;
  LOGIN_MAX_FAILURES?: string;
  LOGIN_IP_MAX_FAILURES?: string;
  LOGIN_LOCKOUT_SECONDS?: string;
  LOGIN_WINDOW_SECONDS?: string;
  /** Address budget refill: one failed sign-in back every this many seconds (token bucket, default 864). */
  LOGIN_IP_REFILL_SECONDS?: string;
  /** Browser origins (comma-separated) allowed to call the API cross-origin, and to send cookie-authenticated changes. */
  CORS_ORIGINS?: string;
  /** Key of the MAC on X-Userplane-Bookmark (default: derived from BOOTSTRAP_API_KEY). */
  BOOKMARK_SECRET?: string;
  /** Webhooks (src/webhooks): the delivery queue, whose consumer is this worker. */
  WEBHOOK_QUEUE: Queue<WebhookMessage>;
  /** Secret: the key webhook signing secrets are encrypted with in D1 (≥ 32 characters). */
  WEBHOOK_SECRET_KEY?: string;
  /** Seconds between delivery attempts, comma-separated (default 5,300,1800,7200,18000,36000,36000). */
  WEBHOOK_RETRY_SCHEDULE?: string;
  /** `true`: endpoints may also use http, localhost and loopback addresses (development, tests). */
  WEBHOOK_ALLOW_INSECURE_URLS?: string;
  /** How long a receiver has to answer, in milliseconds (default 15000). */
  WEBHOOK_TIMEOUT_MS?: string;
  /** Test-only fault injection: `true` drops the enqueue after each request, as if the worker died. */
  WEBHOOK_TEST_DROP_ENQUEUE?: string;
}

/** A drizzle client; `$client` is the binding, or the request's D1 session (src/db/client.ts). */
export type Db = DrizzleD1Database & { $client: D1Database | D1DatabaseSession };

export interface Variables {
  db: Db;
  requestId: string;
  principal: Principal;
  /** Who the verified credential names, before any database read (see src/auth/deferred.ts). */
  caller: Caller;
  /** Whether the request sent back an `X-Userplane-Bookmark` (src/middleware/db-session.ts). */
  bookmarkGiven: boolean;
  /** The request's D1 session bookmark as of now (null before its first statement). */
  bookmarkNow: () => string | null;
  /** The bookmark of a read served from this isolate's cache (src/users/self-cache.ts), to answer with. */
  servedBookmark?: string;
  /** Set instead of `principal` on routes that batch the session check with their read. */
  pendingSession?: PendingSession;
}

/** The one Hono environment type every router and middleware uses. */
export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
