// Auth0 → ImportUser. Reads both files Auth0 gives out: the user export job's NDJSON (user_id,
// email, given_name, family_name, name, username, created_at, last_login, blocked, user_metadata,
// app_metadata …) and the password-hash export support sends (NDJSON with `_id.$oid`, `alt_id`,
// `passwordHash`, `password_set_date`, `connection`, `identifiers`), and the bulk-import schema's
// `password_hash` / `custom_password_hash` too, one user per line or a JSON array of them.
import { FieldReader, importUser, wholeName } from "./fields.mjs";

/** custom_password_hash algorithms whose `hash.value` is already a string userplane reads. */
const SELF_DESCRIBING = new Set(["bcrypt", "argon2"]);

/** The Auth0 user id: `user_id`, else `auth0|` + `alt_id` or `_id.$oid` as Auth0 builds it. */
function auth0UserId(reader) {
  const userId = reader.string("user_id");
  if (userId) return userId;
  const local = reader.string("alt_id") ?? reader.string("_id.$oid");
  return local ? `auth0|${local}` : undefined;
}

function passwordHash(reader) {
  const plain = reader.string("passwordHash") ?? reader.string("password_hash");
  if (plain) return plain;
  const custom = reader.object("custom_password_hash");
  if (!custom) return undefined;
  const algorithm = reader.string("custom_password_hash.algorithm");
  if (!algorithm || !SELF_DESCRIBING.has(algorithm)) {
    return reader.fail(
      "custom_password_hash.algorithm",
      `${JSON.stringify(algorithm ?? null)} hashes cannot be imported (bcrypt and argon2 can); the user will need a password reset`,
      "unsupported_password_hash",
    );
  }
  return reader.string("custom_password_hash.hash.value") ?? reader.fail("custom_password_hash.hash.value", "is missing");
}

/** The email: the root field, else the hash export's `identifiers` entry of type email. */
function email(reader) {
  const root = reader.string("email");
  if (root) return { email: root, verified: reader.boolean("email_verified") };
  const identifier = (reader.array("identifiers") ?? []).find((entry) => entry?.type === "email");
  return identifier ? { email: identifier.value, verified: identifier.verified } : {};
}

/** @param {Record<string, unknown>} record */
export function convertAuth0(record) {
  const reader = new FieldReader(record);
  const { email: address, verified } = email(reader);
  const givenName = reader.string("given_name");
  const familyName = reader.string("family_name");
  const name = reader.string("name");
  const names =
    givenName || familyName
      ? { first_name: givenName, last_name: familyName }
      : wholeName(name && name !== address ? name : undefined);
  const fields = {
    external_id: auth0UserId(reader),
    email: address,
    username: reader.string("username"),
    ...names,
    password_hash: passwordHash(reader),
    is_active: reader.boolean("blocked") === true ? false : undefined,
    created_at: reader.time("created_at"),
    last_login_at: reader.time("last_login"),
  };
  const identities = reader.array("identities");
  const extras = {
    email_verified: verified,
    name: givenName || familyName ? name : undefined,
    nickname: reader.string("nickname"),
    picture: reader.string("picture"),
    phone_number: reader.string("phone_number"),
    connection: reader.string("connection") ?? identities?.[0]?.connection,
    providers: identities?.map((identity) => identity?.provider).filter(Boolean),
    app_metadata: reader.object("app_metadata"),
    logins_count: typeof record.logins_count === "number" ? record.logins_count : undefined,
    password_set_at: reader.time("password_set_date"),
  };
  return importUser(reader, fields, { source: "auth0", userData: reader.object("user_metadata"), extras });
}
