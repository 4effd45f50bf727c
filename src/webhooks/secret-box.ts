import type { Bindings } from "../env";
import { ApiError } from "../lib/errors";

/**
 * Signing secrets at rest: AES-256-GCM under a key derived (HKDF-SHA-256) from the
 * WEBHOOK_SECRET_KEY secret binding or, without one, from a key the key store generates on first
 * use and keeps in Durable Object storage (as it does signing keys), with the endpoint id as
 * additional data so a ciphertext copied onto another row does not open. A D1 dump alone
 * therefore signs nothing. Stored form: `v1.<base64 iv>.<base64 ciphertext>`.
 */
const MIN_KEY_LENGTH = 32;
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();
/** The generated key, read from the key store once per isolate (per namespace binding). */
const generated = new WeakMap<object, Promise<string>>();

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

function generatedKey(env: Bindings): Promise<string> {
  let key = generated.get(env.KEYS);
  if (!key) {
    key = env.KEYS.get(env.KEYS.idFromName("keys")).webhookSealKey();
    generated.set(env.KEYS, key);
    key.catch(() => generated.delete(env.KEYS));
  }
  return key;
}

/**
 * The secret the box key derives from: WEBHOOK_SECRET_KEY when set, else the generated one. A
 * configured key too short to be a key is a 503 naming it, rather than a weak seal.
 */
async function boxSecret(env: Bindings): Promise<string> {
  const configured = env.WEBHOOK_SECRET_KEY;
  if (configured === undefined || configured === "") return generatedKey(env);
  if (configured.length < MIN_KEY_LENGTH) {
    throw new ApiError(
      "service_unavailable",
      `WEBHOOK_SECRET_KEY is too short: use at least ${MIN_KEY_LENGTH} random characters (e.g. \`openssl rand -base64 32\`), or unset it to have one generated.`,
    );
  }
  return configured;
}

async function boxKey(env: Bindings): Promise<CryptoKey> {
  const secret = await boxSecret(env);
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("userplane webhook secrets v1") },
          material,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    keys.set(secret, key);
  }
  return key;
}

/** Fails with the 503 above when WEBHOOK_SECRET_KEY is set too short (checked before anything is written). */
export async function assertSecretKey(env: Bindings): Promise<void> {
  await boxKey(env);
}

export async function sealSecret(env: Bindings, endpointId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(endpointId) },
    await boxKey(env),
    encoder.encode(secret),
  );
  return `v1.${b64(iv)}.${b64(new Uint8Array(sealed))}`;
}

export async function openSecret(env: Bindings, endpointId: string, stored: string): Promise<string> {
  const [version, iv, data] = stored.split(".");
  if (version !== "v1" || !iv || !data) throw new Error("unknown webhook secret format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: unb64(iv), additionalData: encoder.encode(endpointId) },
    await boxKey(env),
    unb64(data),
  );
  return new TextDecoder().decode(plain);
}
