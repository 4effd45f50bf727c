import { ApiError } from "./errors";

/** The answer to removing a tenant's last active owner (the triggers of 0001_invariants.sql). */
export const lastOwner = () => new ApiError("last_owner", "The tenant must keep at least one active owner.");

/** Unique index → the field a client should change. */
const UNIQUE_FIELDS: [RegExp, string, string][] = [
  [/users_email_uq|users\.email/, "email", "A user with this email already exists in the tenant."],
  [/users_username_uq|users\.username/, "username", "A user with this username already exists in the tenant."],
  [/users_external_id_uq|users\.external_id/, "external_id", "A user with this external_id already exists in the tenant."],
  [/tenants_slug_uq|tenants\.slug/, "slug", "A tenant with this slug already exists."],
  [/roles\.tenant_id, roles\.name|roles\.name/, "name", "A role with this name already exists."],
];

/**
 * Turns a constraint failure from D1 into the API error it means (409 for duplicates, the
 * invariant's own code for a trigger's ABORT). Anything else is rethrown untouched.
 */
export function mapDbError(err: unknown): never {
  const message = errorMessage(err);
  if (message.includes("last_owner")) throw lastOwner();
  if (message.includes("UNIQUE constraint failed")) {
    for (const [pattern, field, detail] of UNIQUE_FIELDS) {
      if (pattern.test(message)) {
        const e = new ApiError("conflict", detail, [{ path: field, message: detail, code: "duplicate" }]);
        throw e;
      }
    }
    throw new ApiError("conflict", "The resource already exists.");
  }
  if (message.includes("FOREIGN KEY constraint failed")) {
    throw new ApiError("conflict", "The change refers to something that no longer exists or is still in use.");
  }
  throw err;
}

/**
 * The database's own message. drizzle wraps a D1 failure in "Failed query: <sql> params: <values>"
 * and keeps the constraint message on `cause`; the wrapper is not read, so a value that happens
 * to contain "last_owner" or "UNIQUE" cannot steer the mapping.
 */
export function errorMessage(err: unknown): string {
  let e = err;
  for (let depth = 0; depth < 5 && (e as Error)?.cause !== undefined && (e as Error)?.cause !== null; depth++) {
    e = (e as Error).cause;
  }
  return String((e as Error)?.message ?? e);
}

/** Runs a write, translating constraint failures. */
export async function guarded<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    return mapDbError(err);
  }
}

