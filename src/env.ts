import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "./db/schema";
import type { Principal } from "./auth/principal";
import type { Caller, PendingSession } from "./auth/deferred";
import type { KeyStore } from "./keys/key-store";
import type { TenantCoordinator } from "./coordinator/tenant-coordinator";
import type { Throttle } from "./auth/throttle";
import type { ResetTokens } from "./resets/reset-tokens";

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
  /** scrypt cost as `N,r,p` (default from the OWASP cheat sheet, see src/auth/password.ts). */
  PASSWORD_SCRYPT_PARAMS?: string;
  LOGIN_MAX_FAILURES?: string;
  LOGIN_IP_MAX_FAILURES?: string;
  LOGIN_LOCKOUT_SECONDS?: string;
  LOGIN_WINDOW_SECONDS?: string;
  /** Other origins (comma-separated) allowed to send cookie-authenticated unsafe requests. */
  CORS_ORIGINS?: string;
}

export type Db = DrizzleD1Database<typeof schema> & { $client: D1Database };

export interface Variables {
  db: Db;
  requestId: string;
  principal: Principal;
  /** Who the verified credential names, before any database read (see src/auth/deferred.ts). */
  caller: Caller;
  /** Set instead of `principal` on routes that batch the session check with their read. */
  pendingSession?: PendingSession;
}

/** The one Hono environment type every router and middleware uses. */
export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
