// Keycloak → ImportUser. Reads a realm export (`kc.sh export --realm R --file realm.json`, or the
// `R-users-N.json` files of `--users different_files`): `{ "users": [{ id, username, email,
// firstName, lastName, enabled, emailVerified, createdTimestamp, attributes, credentials,
// requiredActions, realmRoles, clientRoles, groups }] }`. A password credential's `secretData`
// (`{ value, salt }`, standard base64) and `credentialData` (`{ algorithm, hashIterations,
// additionalParameters }`) become a PHC string userplane reads.
import { FieldReader, base64ToPhc, importUser, isBase64 } from "./fields.mjs";

const PBKDF2 = new Set(["pbkdf2-sha256", "pbkdf2-sha512"]);

/** A JSON string field of a credential, parsed (Keycloak stores them as strings). */
function credentialPart(reader, path) {
  const value = reader.raw(path);
  if (typeof value !== "string") return value ?? reader.fail(path, "is missing", "required");
  try {
    return JSON.parse(value);
  } catch {
    return reader.fail(path, "must be the JSON text Keycloak writes");
  }
}

/** Keycloak's argon2 parameters (each a one-element string array) → the PHC prefix. */
function argon2Prefix(parameters, iterations) {
  const one = (name) => (Array.isArray(parameters?.[name]) ? parameters[name][0] : parameters?.[name]);
  const type = one("type") ?? "id";
  const version = one("version") === "1.0" ? 16 : 19;
  return `$argon2${type}$v=${version}$m=${one("memory") ?? 7168},t=${iterations ?? 5},p=${one("parallelism") ?? 1}`;
}

/** The newest password credential as a PHC string, or undefined. */
function passwordHash(reader) {
  const credentials = reader.array("credentials") ?? [];
  const passwords = credentials
    .map((credential, index) => ({ credential, index }))
    .filter(({ credential }) => credential?.type === "password");
  if (passwords.length === 0) return undefined;
  const { index } = passwords.reduce((newest, next) =>
    (next.credential.createdDate ?? 0) > (newest.credential.createdDate ?? 0) ? next : newest,
  );
  const base = `credentials.${index}`;
  const secret = credentialPart(reader, `${base}.secretData`);
  const data = credentialPart(reader, `${base}.credentialData`);
  if (!secret || !data) return undefined;
  const algorithm = data.algorithm ?? "pbkdf2-sha256";
  const iterations = data.hashIterations;
  if (!isBase64(secret.value)) return reader.fail(`${base}.secretData.value`, "must be base64");
  if (!isBase64(secret.salt)) return reader.fail(`${base}.secretData.salt`, "must be base64");
  const saltAndHash = `${base64ToPhc(secret.salt)}$${base64ToPhc(secret.value)}`;
  if (PBKDF2.has(algorithm)) {
    if (!Number.isInteger(iterations) || iterations < 1) {
      return reader.fail(`${base}.credentialData.hashIterations`, "must be a positive integer");
    }
    return `$${algorithm}$i=${iterations}$${saltAndHash}`;
  }
  if (algorithm === "argon2") return `${argon2Prefix(data.additionalParameters, iterations)}$${saltAndHash}`;
  return reader.fail(
    `${base}.credentialData.algorithm`,
    `${JSON.stringify(algorithm)} hashes cannot be imported (pbkdf2-sha256, pbkdf2-sha512 and argon2 can); the user will need a password reset`,
    "unsupported_password_hash",
  );
}

/** Keycloak attributes (each a list of strings): single values unwrapped, lists kept. */
function attributes(reader) {
  const raw = reader.object("attributes");
  if (!raw) return undefined;
  return Object.fromEntries(
    Object.entries(raw).map(([name, values]) => [name, Array.isArray(values) && values.length === 1 ? values[0] : values]),
  );
}

/**
 * @param {Record<string, unknown>} record
 * @returns {{ user: object } | { errors: object[] } | { ignored: string }}
 */
export function convertKeycloak(record) {
  const reader = new FieldReader(record);
  if (reader.string("serviceAccountClientId")) return { ignored: "a client's service account, not a person" };
  const requiredActions = reader.array("requiredActions") ?? [];
  const fields = {
    external_id: reader.string("id") ?? reader.fail("id", "is missing", "required"),
    username: reader.string("username"),
    email: reader.string("email"),
    first_name: reader.string("firstName"),
    last_name: reader.string("lastName"),
    password_hash: passwordHash(reader),
    password_change_required: requiredActions.includes("UPDATE_PASSWORD") ? true : undefined,
    is_active: reader.boolean("enabled") === false ? false : undefined,
    created_at: reader.time("createdTimestamp"),
  };
  const extras = {
    email_verified: reader.boolean("emailVerified"),
    realm_roles: reader.array("realmRoles"),
    client_roles: reader.object("clientRoles"),
    groups: reader.array("groups"),
    required_actions: requiredActions,
    federation_link: reader.string("federationLink"),
    totp: reader.boolean("totp") || undefined,
  };
  return importUser(reader, fields, { source: "keycloak", userData: attributes(reader), extras });
}
