// What every converter shares: reading typed fields off a source record while collecting every
// problem at once (each names its field), normalising timestamps, and assembling the ImportUser.

/** 16 KiB, the contract's cap on `metadata`. */
export const METADATA_MAX_BYTES = 16 * 1024;

/**
 * Reads fields of one source record; `errors` collects `{ path, message, code }` for every bad one
 * so an item is reported with all its problems at once.
 */
export class FieldReader {
  /** @param {Record<string, unknown>} record */
  constructor(record) {
    this.record = record;
    /** @type {{ path: string, message: string, code: string }[]} */
    this.errors = [];
  }

  fail(path, message, code = "invalid_field") {
    this.errors.push({ path, message, code });
    return undefined;
  }

  /** The raw value at a dotted path, or undefined. */
  raw(path) {
    let value = this.record;
    for (const part of path.split(".")) {
      if (value === null || typeof value !== "object") return undefined;
      value = value[part];
    }
    return value;
  }

  /** A string, or undefined when absent, null or empty. */
  string(path) {
    const value = this.raw(path);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") return this.fail(path, `must be a string, not ${describe(value)}`);
    return value;
  }

  /** A boolean; CSV's `t`/`f` and `true`/`false` strings count. */
  boolean(path) {
    const value = this.raw(path);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "t") return true;
    if (value === "false" || value === "f") return false;
    return this.fail(path, `must be true or false, not ${describe(value)}`);
  }

  /** A JSON object; a string holding one (a CSV jsonb column, Firebase's customAttributes) is parsed. */
  object(path) {
    let value = this.raw(path);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        return this.fail(path, "must be a JSON object, and this text is not JSON");
      }
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return this.fail(path, `must be a JSON object, not ${describe(value)}`);
    }
    return value;
  }

  /** An array, or undefined. */
  array(path) {
    const value = this.raw(path);
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) return this.fail(path, `must be an array, not ${describe(value)}`);
    return value;
  }

  /** A point in time as an RFC 3339 UTC string (see `toRfc3339`). */
  time(path) {
    const value = this.raw(path);
    if (value === undefined || value === null || value === "") return undefined;
    const iso = toRfc3339(value);
    return iso ?? this.fail(path, `must be a timestamp, not ${describe(value)}`);
  }
}

/** A short description of a bad value for a message. */
function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

const POSTGRES_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * RFC 3339 UTC (`2024-01-02T03:04:05.678Z`) from what the sources write: ISO strings, Postgres
 * timestamps (`2024-01-02 03:04:05.123456+00`), Unix milliseconds as a number or a digit string
 * (Firebase, Keycloak), and MongoDB extended JSON `{ "$date": … }` (Auth0's hash export).
 * Null when it is none of them.
 */
export function toRfc3339(value) {
  if (value && typeof value === "object" && "$date" in value) return toRfc3339(value.$date);
  let date;
  if (typeof value === "number" || (typeof value === "string" && /^\d{10,}$/.test(value))) {
    date = new Date(Number(value));
  } else if (typeof value === "string") {
    const pg = POSTGRES_TIMESTAMP.exec(value.trim());
    if (!pg) return null;
    const [, day, time, zone] = pg;
    // JavaScript reads at most milliseconds and wants `+hh:mm`.
    const ms = time.replace(/(\.\d{1,3})\d*$/, "$1");
    const offset = !zone || zone === "Z" ? "Z" : zone.length === 3 ? `${zone}:00` : zone.replace(/^([+-]\d{2}):?(\d{2})$/, "$1:$2");
    date = new Date(`${day}T${ms}${offset}`);
  } else return null;
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A copy without the keys whose value is undefined, null, an empty string, array or object. */
export function compact(object) {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined || value === null || value === "") continue;
    if (typeof value === "object" && Object.keys(value).length === 0) continue;
    out[key] = value;
  }
  return out;
}

/**
 * The ImportUser: `fields` without empty values, and metadata made of the source's own user data
 * (`userData`, at the top level, as the application stored it) plus the source-specific facts
 * under one key named after the source (`extras`). The user's data wins a clash of names.
 * Fails the item (naming `metadata`) when the result passes the contract's 16 KiB.
 */
export function importUser(reader, fields, { source, userData, extras }) {
  const sourceFacts = compact(extras ?? {});
  const metadata = { ...(Object.keys(sourceFacts).length ? { [source]: sourceFacts } : {}), ...(userData ?? {}) };
  const user = compact({ ...fields, metadata });
  const text = JSON.stringify(metadata);
  // A UTF-8 character takes at most 3 bytes per UTF-16 unit: encode only when it could be over.
  const bytes = text.length * 3 <= METADATA_MAX_BYTES ? text.length : new TextEncoder().encode(text).length;
  if (bytes > METADATA_MAX_BYTES) {
    reader.fail("metadata", `would be ${bytes} bytes; userplane keeps at most ${METADATA_MAX_BYTES}`, "metadata_too_large");
  }
  if (!user.email && !user.username && !user.external_id) {
    reader.fail("email", "the user has no email, username or id to be known by", "missing_identity");
  }
  return reader.errors.length ? { errors: reader.errors } : { user };
}

/** Standard base64 (padded or not) → PHC's B64: the same alphabet without `=` padding. */
export function base64ToPhc(text) {
  return text.replace(/=+$/, "");
}

/** Whether `text` is standard base64 (with or without padding). */
export function isBase64(text) {
  return typeof text === "string" && text.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.replace(/=+$/, "").length % 4 !== 1;
}

/** A display name as first_name alone, so userplane's derived display_name is exactly it. */
export function wholeName(name) {
  return name ? { first_name: name } : {};
}
