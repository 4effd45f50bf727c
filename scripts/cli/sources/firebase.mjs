// Firebase → ImportUser. Reads `firebase auth:export users.json --format=json`:
// `{ "users": [{ localId, email, emailVerified, passwordHash, salt, displayName, photoUrl,
// phoneNumber, createdAt, lastSignedInAt, customAttributes, disabled, providerUserInfo }] }`.
// Hashes are Firebase's modified scrypt: base64 hash and salt, read with the project's hash
// parameters (`--hash-key`, `--salt-separator`, `--rounds`, `--mem-cost`), which go into every
// request as `hash_config.firebase_scrypt`.
import { FieldReader, importUser, isBase64, wholeName } from "./fields.mjs";

/**
 * @param {Record<string, unknown>} record
 * @param {{ hashConfig?: object }} options
 */
export function convertFirebase(record, { hashConfig } = {}) {
  const reader = new FieldReader(record);
  const hash = reader.string("passwordHash");
  const salt = reader.string("salt");
  if (hash !== undefined && !isBase64(hash)) reader.fail("passwordHash", "must be base64, as auth:export writes it");
  if (salt !== undefined && !isBase64(salt)) reader.fail("salt", "must be base64, as auth:export writes it");
  if (hash && !hashConfig) {
    reader.fail(
      "passwordHash",
      "needs the project's hash parameters: pass --hash-key, --salt-separator, --rounds and --mem-cost " +
        "(Firebase console → Authentication → Users → ⋮ → Password hash parameters)",
      "missing_hash_config",
    );
  }
  const fields = {
    external_id: reader.string("localId") ?? reader.fail("localId", "is missing", "required"),
    email: reader.string("email"),
    ...wholeName(reader.string("displayName")),
    password_hash: hash,
    password_salt: hash ? salt : undefined,
    is_active: reader.boolean("disabled") === true ? false : undefined,
    created_at: reader.time("createdAt"),
    last_login_at: reader.time("lastSignedInAt"),
  };
  const providers = reader.array("providerUserInfo");
  const extras = {
    email_verified: reader.boolean("emailVerified"),
    photo_url: reader.string("photoUrl"),
    phone_number: reader.string("phoneNumber"),
    providers: providers?.map((info) => info?.providerId).filter(Boolean),
    custom_claims: reader.object("customAttributes"),
  };
  return importUser(reader, fields, { source: "firebase", extras });
}

/**
 * `hash_config.firebase_scrypt` from the command line, or null when none of its flags is given.
 * @returns {{ config: object | null, errors: string[] }}
 */
export function firebaseHashConfig({ hashKey, saltSeparator, rounds, memCost }) {
  const given = [hashKey, saltSeparator, rounds, memCost].filter((v) => v !== undefined);
  if (given.length === 0) return { config: null, errors: [] };
  const errors = [];
  if (!isBase64(hashKey ?? "")) errors.push("--hash-key must be the base64 signer key Firebase shows (base64_signer_key)");
  if (saltSeparator !== undefined && saltSeparator !== "" && !isBase64(saltSeparator)) {
    errors.push("--salt-separator must be base64 (base64_salt_separator)");
  }
  const integer = (value, flag, min, max) => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min || n > max) errors.push(`${flag} must be an integer from ${min} to ${max}`);
    return n;
  };
  const config = {
    signer_key: hashKey,
    salt_separator: saltSeparator ?? "",
    rounds: integer(rounds, "--rounds", 1, 32),
    mem_cost: integer(memCost, "--mem-cost", 1, 32),
  };
  return { config: errors.length ? null : { firebase_scrypt: config }, errors };
}
