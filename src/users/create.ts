import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { userRoles, users } from "../db/schema";
import type { AppEnv, Db } from "../env";
import type { Principal } from "../auth/principal";
import { needs, sessionChecks, tenantIn, writeCaller, writeGuarded } from "../auth/guards";
import { configuredParams, hashPassword } from "../sign-in/password";
import { recordEvent } from "../events/repo";
import { validationError } from "../lib/errors";
import { newId } from "../lib/ids";
import { isoNow } from "../lib/time";
import { grantCheck, knownRolesCheck, rowsOf } from "../roles/guards";
import { insertUserReturning, type InsertedUserRow, type UserRow } from "./repo";
import type { CreateUserInput } from "./schemas";

/** Who did something, as events name them. */
export interface Actor {
  kind: Principal["kind"];
  id: string | null;
}

/** `temporary_password: true` makes a given password temporary; without one it means nothing. */
export function checkTemporaryPassword(input: { password?: string; temporary_password?: boolean }, pathPrefix = ""): void {
  if (input.temporary_password && !input.password) {
    throw validationError([
      { path: `${pathPrefix}temporary_password`, message: "A temporary password needs a password.", code: "password_required" },
    ]);
  }
}

/**
 * `POST /v1/users` in one round trip: the session check, users:write and the privilege rule for
 * the roles ride in the batch that inserts the user, their grants and the event, and reads the
 * user back. The password is hashed before that batch, so before the caller is known to hold
 * users:write: any signed-in user can make the service hash a password once per request.
 */
export async function createUser(c: Context<AppEnv>, input: CreateUserInput): Promise<UserRow> {
  const db = c.var.db;
  if (!input.email && !input.username && !input.external_id) {
    throw validationError(
      ["email", "username", "external_id"].map((path) => ({
        path,
        message: "One of email, username or external_id is required.",
        code: "identifier_required",
      })),
    );
  }
  checkTemporaryPassword(input);
  const roleNames = input.roles ?? ["member"];
  const caller = writeCaller(c);
  const tenantId = tenantIn(caller);
  const names = rowsOf(roleNames);
  const passwordHash = input.password ? await hashPassword(input.password, configuredParams(c.env)) : null;
  const { statements } = newUserStatements(db, tenantId, input, passwordHash, [...new Set(roleNames)], caller.actor);
  const [inserted] = await writeGuarded<[InsertedUserRow | undefined]>(
    c,
    {
      caller,
      checks: [
        ...sessionChecks(caller),
        needs(caller, "users:write"),
        knownRolesCheck(tenantId, names),
        grantCheck(tenantId, names),
      ],
    },
    [...statements],
  );
  return createdUserRow(inserted!, roleNames);
}

/**
 * The UserRow `findVisibleUser` would read back for a user just created by this caller, from the
 * row the INSERT returned: their roles in the order it sorts them (role names are ASCII, so JS
 * order is SQLite's), seen tenant-wide (a new user is nobody's self, has no manager here and has
 * shared nothing yet).
 */
function createdUserRow(inserted: InsertedUserRow, roleNames: string[]): UserRow {
  return { ...inserted, roles: JSON.stringify([...new Set(roleNames)].sort()), access: "tenant", share_scopes: null };
}

/** The INSERTs that create a user with their roles and the `user.created` event. */
export function newUserStatements(
  db: Db,
  tenantId: string,
  input: Omit<CreateUserInput, "password" | "roles">,
  passwordHash: string | null,
  roleNames: string[],
  /** Who creates them (a Principal will do), named in the event. */
  actor: Principal | Actor,
  /** Set for managed (child) users: they cannot sign in and belong to this manager. */
  managerId: string | null = null,
) {
  const now = isoNow();
  const id = newId("usr");
  const statements = [
    insertUserReturning(db, db.insert(users).values({
      id,
      tenantId,
      username: input.username ?? null,
      email: input.email ?? null,
      firstName: input.first_name ?? null,
      lastName: input.last_name ?? null,
      isActive: input.is_active ?? true,
      isManaged: managerId !== null,
      managerId,
      metadata: JSON.stringify(input.metadata ?? {}),
      externalId: input.external_id ?? null,
      passwordHash,
      passwordChangeRequired: Boolean(input.temporary_password),
      createdAt: now,
      updatedAt: now,
    })),
    insertRoles(db, tenantId, id, roleNames),
    recordEvent(db, tenantId, "user.created", { user_id: id, actor: actorOf(actor) }),
  ] as const;
  return { id, statements };
}

/** Inserts role grants (a no-op statement when there are none, so batches keep their shape). */
function insertRoles(db: Db, tenantId: string, userId: string, names: string[]) {
  if (names.length === 0) return noop(db);
  return db.insert(userRoles).values(names.map((role) => ({ tenantId, userId, role })));
}

/** A statement that does nothing, so a batch keeps a fixed shape whatever the change. */
export const noop = (db: Db) => db.run(sql`SELECT 1`);

/** The event `actor` of a principal (an actor stays as it is). */
export const actorOf = (p: Principal | Actor): Actor => ("roles" in p ? { kind: p.kind, id: p.userId ?? p.keyId } : p);
