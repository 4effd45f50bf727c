import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
} from "jose";
import type { Bindings } from "../env";
import type { KeyMaterial } from "../keys/key-store";
import { ApiError } from "../lib/errors";

/** `iss` and `aud` of every access token userplane issues. */
export const OWN_ISSUER = "userplane";
export const OWN_AUDIENCE = "userplane";
const ACCESS_TOKEN_TYPE = "at+jwt";
const ALLOWED_ALGORITHMS = ["EdDSA", "ES256", "RS256"];
/** Clock skew tolerated on `exp`, `nbf` and `iat`. */
export const CLOCK_SKEW_SECONDS = 60;
/** How long an isolate trusts its copy of the key material before asking the key store again. */
const KEY_CACHE_MS = 5 * 60_000;
/** An unknown `kid` triggers a refresh at most this often (a flood of forged kids costs one fetch). */
const UNKNOWN_KID_REFRESH_MS = 10_000;

export interface AccessClaims {
  sub: string;
  tid: string;
  sid: string;
}

interface CachedKeys {
  material: KeyMaterial;
  fetchedAt: number;
  jwks: ReturnType<typeof createLocalJWKSet>;
  signingKey: CryptoKey;
}

let cached: CachedKeys | null = null;
let lastUnknownKidRefresh = 0;

export const accessTokenTtl = (env: Bindings) => Number(env.ACCESS_TOKEN_TTL_SECONDS) || 900;

/** Key material from the pinned secret, or from the key store (cached in the isolate). */
async function keyMaterial(env: Bindings, force = false): Promise<CachedKeys> {
  const now = Date.now();
  if (!force && cached && now - cached.fetchedAt < KEY_CACHE_MS) return cached;
  const material = env.SIGNING_KEYS ? pinnedMaterial(env.SIGNING_KEYS) : await keyStore(env).material();
  cached = await cacheEntry(material, now);
  return cached;
}

async function cacheEntry(material: KeyMaterial, now: number): Promise<CachedKeys> {
  const signingKey = (await importJWK(material.signing.privateJwk, material.signing.alg)) as CryptoKey;
  return { material, fetchedAt: now, jwks: createLocalJWKSet({ keys: material.published }), signingKey };
}

function pinnedMaterial(secret: string): KeyMaterial {
  const jwks = JSON.parse(secret) as JWK[];
  const [first] = jwks;
  if (!first?.kid || !first.alg) throw new Error("SIGNING_KEYS must be a JSON array of private JWKs with kid and alg");
  const publicHalf = ({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }: JWK): JWK => pub;
  return {
    signing: {
      kid: first.kid,
      alg: first.alg as "EdDSA",
      privateJwk: first,
      publicJwk: publicHalf(first),
      createdAt: 0,
      retiredAt: null,
    },
    published: jwks.map(publicHalf),
  };
}

const keyStore = (env: Bindings) => env.KEYS.get(env.KEYS.idFromName("keys"));

/** The public keys for `/.well-known/jwks.json`. */
export async function publishedKeys(env: Bindings): Promise<JWK[]> {
  return (await keyMaterial(env)).material.published;
}

/** Rotates the signing key (platform call) and refreshes this isolate's copy at once. */
export async function rotateSigningKey(env: Bindings): Promise<JWK[]> {
  if (env.SIGNING_KEYS) throw new ApiError("conflict", "Signing keys are pinned by the SIGNING_KEYS secret.");
  cached = await cacheEntry(await keyStore(env).rotate(), Date.now());
  return cached.material.published;
}

export async function signAccessToken(env: Bindings, claims: AccessClaims, now = Date.now()) {
  const keys = await keyMaterial(env);
  const iat = Math.floor(now / 1000);
  const expiresIn = accessTokenTtl(env);
  const token = await new SignJWT({ tid: claims.tid, sid: claims.sid })
    .setProtectedHeader({ alg: keys.material.signing.alg, kid: keys.material.signing.kid, typ: ACCESS_TOKEN_TYPE })
    .setSubject(claims.sub)
    .setIssuer(OWN_ISSUER)
    .setAudience(OWN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + expiresIn)
    .setJti(crypto.randomUUID())
    .sign(keys.signingKey);
  return { token, expiresIn };
}

const unauthorized = (detail: string) => new ApiError("unauthorized", detail);

/** Which verifier a bearer JWT belongs to, read from its (not yet trusted) `iss`. */
export function tokenIssuer(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    throw unauthorized("The bearer token is not a well-formed JWT.");
  }
}

/**
 * Access tokens this isolate has verified, with their claims. The Ed25519 signature check is the
 * largest CPU cost of an authenticated read (a fifth of `GET /v1/users/me`), and a client sends
 * the same token on every request until it expires. What was verified cannot change for the same
 * string (signature, issuer, audience, type, claims), so a hit only re-checks the time window;
 * the session behind the token is still checked in D1 on every request. Insertion order makes
 * the Map a FIFO: the oldest entry goes when it is full.
 */
const verifiedTokens = new Map<string, { claims: AccessClaims; usableFrom: number; usableUntil: number }>();
const VERIFIED_TOKENS_MAX = 5_000;

function rememberVerified(token: string, claims: AccessClaims, payload: JWTPayload): void {
  if (verifiedTokens.size >= VERIFIED_TOKENS_MAX) verifiedTokens.delete(verifiedTokens.keys().next().value!);
  const skew = CLOCK_SKEW_SECONDS * 1000;
  verifiedTokens.set(token, {
    claims,
    usableFrom: Math.max(payload.nbf ?? 0, payload.iat ?? 0) * 1000 - skew,
    usableUntil: payload.exp! * 1000 + skew,
  });
}

function alreadyVerified(token: string): AccessClaims | undefined {
  const hit = verifiedTokens.get(token);
  if (!hit) return undefined;
  const now = Date.now();
  if (now >= hit.usableFrom && now < hit.usableUntil) return hit.claims;
  // Out of its window: jose decides again, with the precise refusal.
  verifiedTokens.delete(token);
  return undefined;
}

/** Verifies one of userplane's own access tokens and returns its claims. */
export async function verifyAccessToken(env: Bindings, token: string): Promise<AccessClaims> {
  const known = alreadyVerified(token);
  if (known) return known;
  let keys = await keyMaterial(env);
  const verify = (jwks: CachedKeys["jwks"]) =>
    jwtVerify(token, jwks, {
      algorithms: ALLOWED_ALGORITHMS,
      issuer: OWN_ISSUER,
      audience: OWN_AUDIENCE,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ["exp", "iat", "sub", "tid", "sid"],
      clockTolerance: CLOCK_SKEW_SECONDS,
    });
  let payload: JWTPayload;
  try {
    payload = (await verify(keys.jwks)).payload;
  } catch (err) {
    // A key rotated in another isolate: refresh once, rate-limited, then try again.
    if (!isNoMatchingKey(err) || Date.now() - lastUnknownKidRefresh < UNKNOWN_KID_REFRESH_MS) throw refusal(err);
    lastUnknownKidRefresh = Date.now();
    keys = await keyMaterial(env, true);
    try {
      payload = (await verify(keys.jwks)).payload;
    } catch (again) {
      throw refusal(again);
    }
  }
  checkIssuedAt(payload);
  const { sub, tid, sid } = payload as JWTPayload & { tid?: unknown; sid?: unknown };
  if (typeof sub !== "string" || typeof tid !== "string" || typeof sid !== "string") {
    throw unauthorized("The access token lacks its subject, tenant or session.");
  }
  const claims = { sub, tid, sid };
  rememberVerified(token, claims, payload);
  return claims;
}

export interface ExternalIdentity {
  subject: string;
  tenant: string;
}

let remoteJwks: { url: string; set: ReturnType<typeof createRemoteJWKSet> } | null = null;

/** Verifies a token of the configured external identity provider. */
export async function verifyExternalToken(env: Bindings, token: string): Promise<ExternalIdentity> {
  // Without both, jose would check neither: any token the provider signed, for any application
  // or from any of its issuers, would be taken.
  if (!env.JWT_ISSUER || !env.JWT_AUDIENCE) {
    throw new ApiError("service_unavailable", "External tokens are refused until JWT_ISSUER and JWT_AUDIENCE are set beside JWT_JWKS_URL.");
  }
  const url = env.JWT_JWKS_URL!;
  if (remoteJwks?.url !== url) remoteJwks = { url, set: createRemoteJWKSet(new URL(url), { cooldownDuration: 10_000 }) };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, remoteJwks.set, {
      algorithms: ALLOWED_ALGORITHMS,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      requiredClaims: ["exp", "sub"],
      clockTolerance: CLOCK_SKEW_SECONDS,
    }));
  } catch (err) {
    throw refusal(err);
  }
  checkIssuedAt(payload);
  const tenant = payload[env.JWT_TENANT_CLAIM || "tid"];
  if (typeof payload.sub !== "string" || typeof tenant !== "string") {
    throw unauthorized("The token names no subject or tenant.");
  }
  return { subject: payload.sub, tenant };
}

/** jose checks a future `iat` only with maxTokenAge; the contract refuses it regardless. */
function checkIssuedAt(payload: JWTPayload): void {
  if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS) {
    throw unauthorized("The token was issued in the future.");
  }
}

function isNoMatchingKey(err: unknown): boolean {
  return (err as { code?: string })?.code === "ERR_JWKS_NO_MATCHING_KEY";
}

function refusal(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const code = (err as { code?: string })?.code ?? "";
  const reasons: Record<string, string> = {
    ERR_JWT_EXPIRED: "The token has expired.",
    ERR_JWKS_NO_MATCHING_KEY: "The token was signed with an unknown key.",
    ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "The token signature is invalid.",
    ERR_JOSE_ALG_NOT_ALLOWED: "The token algorithm is not allowed.",
    ERR_JWT_CLAIM_VALIDATION_FAILED: "The token claims are not acceptable.",
  };
  return unauthorized(reasons[code] ?? "The token is not valid.");
}
