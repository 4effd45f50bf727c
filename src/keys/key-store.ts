import { DurableObject } from "cloudflare:workers";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { Bindings } from "../env";

/** A signing key as the key store hands it to the Worker (private half included). */
export interface StoredKey {
  kid: string;
  alg: "EdDSA";
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: number;
  /** When it stopped signing; its public half stays published until tokens it signed expire. */
  retiredAt: number | null;
}

export interface KeyMaterial {
  signing: StoredKey;
  /** Public keys to verify with: the signing key and retired keys whose tokens may still be alive. */
  published: JWK[];
}

const DAY_MS = 86_400_000;

/**
 * The one place signing keys are generated and rotated (a singleton object, `idFromName("keys")`),
 * and where the generated key that seals webhook secrets lives.
 * Keys live only in this object's storage: never in D1 and never in a response. Rotation runs on
 * an alarm at `SIGNING_KEY_ROTATION_DAYS` and on the platform's rotate call.
 */
export class KeyStore extends DurableObject<Bindings> {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS keys (
      kid TEXT PRIMARY KEY, body TEXT NOT NULL, created_at INTEGER NOT NULL, retired_at INTEGER)`);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS seal_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  /**
   * The key webhook signing secrets are sealed with when no WEBHOOK_SECRET_KEY is configured
   * (src/webhooks/secret-box.ts): 32 random bytes made on first use and kept here alone, like the
   * signing keys, so a D1 dump still opens no secret.
   */
  async webhookSealKey(): Promise<string> {
    const sql = this.ctx.storage.sql;
    const found = sql.exec<{ value: string }>("SELECT value FROM seal_keys WHERE name = 'webhooks'").toArray()[0];
    if (found) return found.value;
    const value = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    sql.exec("INSERT INTO seal_keys (name, value) VALUES ('webhooks', ?)", value);
    return value;
  }

  /** Current key material, generating the first key on first use. */
  async material(now = Date.now()): Promise<KeyMaterial> {
    let keys = this.load();
    if (!keys.some((k) => k.retiredAt === null)) {
      await this.addKey(now);
      keys = this.load();
    }
    return this.present(keys, now);
  }

  /** Retires the signing key and starts a new one. */
  async rotate(now = Date.now()): Promise<KeyMaterial> {
    await this.addKey(now);
    return this.present(this.load(), now);
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const current = this.load().find((k) => k.retiredAt === null);
    if (!current || now - current.createdAt >= this.rotationMs()) await this.addKey(now);
    else await this.schedule(current.createdAt);
  }

  private async addKey(now: number): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const kid = `k_${now.toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "EdDSA", use: "sig" };
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
    const sql = this.ctx.storage.sql;
    sql.exec("UPDATE keys SET retired_at = ? WHERE retired_at IS NULL", now);
    sql.exec(
      "INSERT INTO keys (kid, body, created_at, retired_at) VALUES (?, ?, ?, NULL)",
      kid,
      JSON.stringify({ privateJwk, publicJwk }),
      now,
    );
    await this.schedule(now);
  }

  private async schedule(createdAt: number): Promise<void> {
    await this.ctx.storage.setAlarm(createdAt + this.rotationMs());
  }

  private load(): StoredKey[] {
    return this.ctx.storage.sql
      .exec<{ kid: string; body: string; created_at: number; retired_at: number | null }>(
        "SELECT kid, body, created_at, retired_at FROM keys ORDER BY created_at DESC",
      )
      .toArray()
      .map((row) => {
        const body = JSON.parse(row.body) as { privateJwk: JWK; publicJwk: JWK };
        return { kid: row.kid, alg: "EdDSA", ...body, createdAt: row.created_at, retiredAt: row.retired_at };
      });
  }

  /** Drops retired keys whose longest-lived access token has expired, then shapes the answer. */
  private present(keys: StoredKey[], now: number): KeyMaterial {
    // Isolates cache the signing key for up to 5 minutes, so a retired key may still sign for
    // that long; its public half stays published for a token lifetime beyond that, plus margin.
    const keepMs = (Number(this.env.ACCESS_TOKEN_TTL_SECONDS) || 900) * 1000 + 10 * 60_000;
    const live = keys.filter((k) => k.retiredAt === null || now - k.retiredAt < keepMs);
    for (const k of keys) {
      if (!live.includes(k)) this.ctx.storage.sql.exec("DELETE FROM keys WHERE kid = ?", k.kid);
    }
    const signing = live.find((k) => k.retiredAt === null)!;
    return { signing, published: live.map((k) => k.publicJwk) };
  }

  private rotationMs(): number {
    return (Number(this.env.SIGNING_KEY_ROTATION_DAYS) || 30) * DAY_MS;
  }
}
