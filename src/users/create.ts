import { sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv, Db } from "../env";
import type { Principal } from "../auth/principal";
import { guardedInsert, needs, sessionChecks, tenantIn, writeCaller, writeGuarded, type GuardedInsert } from "../auth/guards";
import { configuredParams, hashPassword } from "../sign-in/password";
import { newId } from "../lib/ids";
import { isoNow } from "../lib/time";
import { roleGrantChecks } from "../roles/guards";
import type { InsertedUserRow, UserRow } from "./repo";
import type { CreateUserInput } from "./schemas";

/** Who did something, as events name them. */
export interface Actor {
  kind: Principal["kind"];
  id: string | null;
}

/**
 * `POST /v1/users` in one round trip and one statement: the session check, users:write and the
 * privilege rule for the roles are the guard of the insert into `user_creations`, whose trigger
 * writes the user, their grants and the event (migrations/0009_user_creations.sql). The answer is
 * built from what was written. For a signed-in user the password is hashed before that statement,
 * so before they are known to hold users:write: any of them can make the service hash a password
 * once per request (an API key's permissions are known first, and refuse before the hash).
 */
export async function createUser(c: Context<AppEnv>, input: CreateUserInput): Promise<UserRow> {
  const roleNames = input.roles ?? ["member"];
  const caller = writeCaller(c);
  const tenantId = tenantIn(caller);
  const mayWrite = needs(caller, "users:write");
  // Known already for an API key: refused before the hash is paid for.
  if (mayWrite.refuses === true) throw mayWrite.answer(undefined as never);
  const passwordHash = input.password ? await hashPassword(input.password, configuredParams(c.env)) : null;
  const user = newUser(tenantId, input, passwordHash, roleNames, caller.actor);
  await writeGuarded(
    c,
    {
      caller,
      checks: [...sessionChecks(caller), mayWrite, ...roleGrantChecks(tenantId, roleNames)],
      into: user.creation,
      // The answer is the row just written: nothing reads the principal afterwards.
      settlesPrincipal: false,
    },
    [],
  );
  return createdUserRow(user.row, roleNames);
}

/**
 * The UserRow `findVisibleUser` would read back for a user just created by this caller: their
 * roles in the order it sorts them (role names are ASCII, so JS order is SQLite's), seen
 * tenant-wide (a new user is nobody's self, has no manager here and has shared nothing yet).
 */
function createdUserRow(inserted: InsertedUserRow, roleNames: string[]): UserRow {
  return { ...inserted, roles: JSON.stringify([...new Set(roleNames)].sort()), access: "tenant", share_scopes: null };
}

/** A user about to be created: the row as SQL will read it back, and the insert that creates it. */
export interface NewUser {
  id: string;
  row: InsertedUserRow;
  creation: GuardedInsert;
}

/** A new user with their roles and the `user.created` event, as one row of `user_creations`. */
export function newUser(
  tenantId: string,
  input: Omit<CreateUserInput, "password" | "roles">,
  passwordHash: string | null,
  roleNames: readonly string[],
  /** Who creates them (a Principal will do), named in the event. */
  actor: Principal | Actor,
  /** Set for managed (child) users: they cannot sign in and belong to this manager. */
  managerId: string | null = null,
): NewUser {
  const now = isoNow();
  const id = newId("usr");
  const row: InsertedUserRow = {
    id,
    tenant_id: tenantId,
    username: input.username ?? null,
    email: input.email ?? null,
    first_name: input.first_name ?? null,
    last_name: input.last_name ?? null,
    is_active: input.is_active === false ? 0 : 1,
    is_managed: managerId !== null ? 1 : 0,
    manager_id: managerId,
    metadata: JSON.stringify(input.metadata ?? {}),
    external_id: input.external_id ?? null,
    has_password: passwordHash !== null ? 1 : 0,
    password_change_required: input.temporary_password ? 1 : 0,
    created_at: now,
    updated_at: now,
    last_login_at: null,
    version: 1,
  };
  const { has_password: _, updated_at: _updated, last_login_at: _login, version: _version, ...columns } = row;
  return {
    id,
    row,
    creation: {
      into: "user_creations",
      values: {
        ...columns,
        password_hash: passwordHash,
        roles: JSON.stringify([...new Set(roleNames)]),
        event_id: newId("evt"),
        event_data: JSON.stringify({ user_id: id, actor: actorOf(actor) }),
      },
    },
  };
}

/** The statement that creates `user` when nothing guards it (a new tenant's owner, a managed user). */
export const createsUser = (db: Db, user: NewUser) => guardedInsert(db, user.creation);

/** A statement that does nothing, so a batch keeps a fixed shape whatever the change. */
export const noop = (db: Db) => db.run(sql`SELECT 1`);

/** The event `actor` of a principal (an actor stays as it is). */
export const actorOf = (p: Principal | Actor): Actor => ("roles" in p ? { kind: p.kind, id: p.userId ?? p.keyId } : p);
