// Supabase → ImportUser. Reads the rows of `select * from auth.users`, as a JSON array (e.g.
// `select json_agg(u) from auth.users u`) or CSV (`\copy (select * from auth.users) to 'users.csv'
// csv header`, or the dashboard's "Download CSV"): id, email, encrypted_password (bcrypt),
// raw_user_meta_data, raw_app_meta_data, created_at, last_sign_in_at, banned_until, deleted_at …
import { FieldReader, importUser, wholeName } from "./fields.mjs";

/** Names from user metadata as sign-up forms and OAuth providers fill it. */
function names(userData) {
  const text = (key) => (typeof userData?.[key] === "string" && userData[key] ? userData[key] : undefined);
  const first = text("first_name") ?? text("given_name");
  const last = text("last_name") ?? text("family_name");
  if (first || last) return { first_name: first, last_name: last };
  return wholeName(text("full_name") ?? text("name"));
}

/**
 * @param {Record<string, unknown>} record
 * @param {{ now?: Date }} options `now` decides whether `banned_until` is still ahead
 * @returns {{ user: object } | { errors: object[] } | { ignored: string }}
 */
export function convertSupabase(record, { now = new Date() } = {}) {
  const reader = new FieldReader(record);
  if (reader.time("deleted_at")) return { ignored: "deleted in Supabase (deleted_at is set)" };
  const userData = reader.object("raw_user_meta_data");
  const bannedUntil = reader.time("banned_until");
  const hash = reader.string("encrypted_password");
  if (hash !== undefined && !hash.startsWith("$2")) {
    reader.fail("encrypted_password", "must be a bcrypt hash ($2a$…), as Supabase stores them", "unsupported_password_hash");
  }
  const fields = {
    external_id: reader.string("id") ?? reader.fail("id", "is missing", "required"),
    email: reader.string("email"),
    ...names(userData),
    password_hash: hash,
    is_active: bannedUntil && new Date(bannedUntil) > now ? false : undefined,
    created_at: reader.time("created_at"),
    last_login_at: reader.time("last_sign_in_at"),
  };
  const extras = {
    app_metadata: reader.object("raw_app_meta_data"),
    email_confirmed_at: reader.time("email_confirmed_at"),
    phone: reader.string("phone"),
    phone_confirmed_at: reader.time("phone_confirmed_at"),
    banned_until: bannedUntil,
    role: reader.string("role"),
    is_sso_user: reader.boolean("is_sso_user") || undefined,
    is_anonymous: reader.boolean("is_anonymous") || undefined,
  };
  return importUser(reader, fields, { source: "supabase", userData, extras });
}
