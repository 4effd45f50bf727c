import { batch } from "../db/batch";
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { userRoles, users } from "../db/schema";
import type { AppEnv, Db } from "../env";
import type { BatchItem } from "drizzle-orm/batch";
import { can, requirePermission, tenantOf, userOf, type Principal } from "../auth/principal";
import { readWithSession } from "../auth/deferred";
import { configuredParams, hashPassword } from "../auth/password";
import { recordEvent } from "../events/repo";
import { guarded } from "../lib/db-errors";
import { busy, expectedVersion, OPTIMISTIC_ATTEMPTS, preconditionFailed } from "../lib/etag";
import { ApiError, forbidden, notFound, validationError } from "../lib/errors";
import { newId } from "../lib/ids";
import { mergePatch, type Json } from "../lib/merge-patch";
import {
  cursorPage,
  keysetCondition,
  orderBy,
  resolvePagination,
  sortForRequest,
  sortKey,
  numberedPage,
} from "../lib/pagination";
import { isoNow } from "../lib/time";
import { assertCanActOn, assertCanGrant, pickRoles, rolesStatement, type RoleRecord } from "../roles/repo";
import { countUsersStatement } from "./totals";
import {
  filterConditions,
  findVisibleUser,
  lastOwnerOr,
  listUsersStatement,
  usersSource,
  USER_SORT_FIELDS,
  userHolds,
  type UserRow,
  type Viewer,
} from "./repo";
import { presentUserWithAccess, userEtag } from "./present";
import { Metadata, SORT_FIELDS, type CreateUserInput, type ListUsersInput, type PatchUserInput, type PutUserInput } from "./schemas";

export function viewerOf(principal: Principal, opts: { includeManaged?: boolean; includeShared?: boolean } = {}): Viewer {
  return {
    tenantId: tenantOf(principal),
    userId: principal.userId,
    tenantWide: can(principal, "users:read"),
    includeManaged: opts.includeManaged ?? true,
    includeShared: opts.includeShared ?? true,
  };
}

/**
 * The viewer for a read whose session check rides in the same batch: who is asking comes from
 * the verified token; whether they hold users:read is decided by SQL in that same batch.
 */
function batchedViewer(c: Context<AppEnv>, opts: { includeManaged?: boolean; includeShared?: boolean } = {}): Viewer {
  if (!c.var.pendingSession) return viewerOf(c.var.principal, opts);
  const { tenantId, userId } = c.var.caller;
  return {
    tenantId,
    userId,
    tenantWide: userHolds(tenantId, userId!, "users:read"),
    includeManaged: opts.includeManaged ?? true,
    includeShared: opts.includeShared ?? true,
  };
}

/** `GET /v1/users`: one keyset (or page) query over exactly what the caller may see. */
export async function listUsers(c: Context<AppEnv>, q: ListUsersInput) {
  const db = c.var.db;
  const viewer = batchedViewer(c, { includeManaged: q.include_managed, includeShared: q.include_shared });
  const filters = {
    search: q.search,
    isActive: q.is_active,
    isManaged: q.is_managed,
    username: q.username,
    email: q.email,
    role: q.role,
    managerId: q.manager_id,
  };
  // The cursor is bound to who asked, in which tenant, with which filters.
  const scope = await listScope([viewer.tenantId, viewer.userId, viewer.includeManaged, viewer.includeShared, filters]);
  const pagination = resolvePagination(q, scope);
  const terms = sortForRequest(q.sort, pagination, SORT_FIELDS, "created_at,id");
  const conditions = filterConditions(filters);
  const source = usersSource(filters);

  if (pagination.mode === "page") {
    const order = orderBy(terms, USER_SORT_FIELDS);
    const [, [rows, count]] = await readWithSession<[UserRow[], { total: number } | undefined]>(c, [
      listUsersStatement(db, {
        viewer,
        conditions,
        source,
        order,
        limit: pagination.pageSize,
        offset: (pagination.page - 1) * pagination.pageSize,
      }),
      countUsersStatement(db, viewer, filters),
    ]);
    return numberedPage(rows.map(presentUserWithAccess), count?.total, pagination);
  }

  const cursor = pagination.cursor;
  const keyset = cursor ? [keysetCondition(terms, USER_SORT_FIELDS, cursor)] : [];
  const [, [rows]] = await readWithSession<[UserRow[]]>(c, [
    listUsersStatement(db, {
      viewer,
      conditions: [...conditions, ...keyset],
      source,
      order: orderBy(terms, USER_SORT_FIELDS, cursor?.dir === "prev"),
      limit: pagination.limit + 1,
    }),
  ]);
  return cursorPage(rows, pagination, terms, USER_SORT_FIELDS, scope, presentUserWithAccess);
}

async function listScope(parts: unknown[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(parts)));
  return [...new Uint8Array(digest).slice(0, 9)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `me` is the caller (API keys and platform keys have no "me": 403). */
function targetOf(c: Context<AppEnv>, id: string): string {
  if (id !== "me") return id;
  return c.var.pendingSession ? c.var.caller.userId! : userOf(c.var.principal);
}

/**
 * `GET /v1/users/me` and `/{id}` in one round trip: the row is read as a tenant-wide viewer
 * would see it (with its access label relative to the caller), then hidden unless the caller
 * holds users:read or sees it as self, managed or shared — exactly the visibility rule.
 */
export async function readVisibleUser(c: Context<AppEnv>, id: string): Promise<UserRow> {
  const base = batchedViewer(c);
  const targetId = targetOf(c, id);
  const [principal, [row]] = await readWithSession<[UserRow | undefined]>(c, [
    findVisibleUser(c.var.db, { ...base, tenantWide: true }, targetId),
  ]);
  if (!row || (row.access === "tenant" && !can(principal, "users:read"))) throw notFound("User");
  return row;
}

/** A user the caller can see, or 404 exactly as if it did not exist. */
export async function getVisibleUser(db: Db, principal: Principal, id: string): Promise<UserRow> {
  const row = await findVisibleUser(db, viewerOf(principal), id);
  if (!row) throw notFound("User");
  return row;
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
 * `POST /v1/users` in two round trips: the session check and the role rows in one batch, then
 * the user, their grants, the event and the read-back in another.
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
  const { tenantId } = batchedViewer(c);
  const [principal, [roleRows]] = await readWithSession<[RoleRecord[]]>(c, [rolesStatement(db, tenantId, roleNames)]);
  requirePermission(principal, "users:write");
  const grants = pickRoles(roleRows, roleNames);
  assertCanGrant(principal, grants);
  const passwordHash = input.password ? await hashPassword(input.password, configuredParams(c.env)) : null;
  const { id, statements } = newUserStatements(db, tenantId, input, passwordHash, grants.map((g) => g.name), principal);
  const [, , , created] = await guarded(() =>
    batch(db, [...statements, findVisibleUser(db, { ...viewerOf(principal), tenantWide: true }, id)]),
  );
  return created!;
}

/** The INSERTs that create a user with their roles and the `user.created` event. */
export function newUserStatements(
  db: Db,
  tenantId: string,
  input: Omit<CreateUserInput, "password" | "roles">,
  passwordHash: string | null,
  roleNames: string[],
  principal: Principal,
  /** Set for managed (child) users: they cannot sign in and belong to this manager. */
  managerId: string | null = null,
) {
  const now = isoNow();
  const id = newId("usr");
  const statements = [
    db.insert(users).values({
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
    }),
    insertRoles(db, tenantId, id, roleNames),
    recordEvent(db, tenantId, "user.created", { user_id: id, actor: actorOf(principal) }),
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

export const actorOf = (p: Principal) => ({ kind: p.kind, id: p.userId ?? p.keyId });

/** Fields of a user a caller may change, by who the caller is to that user. */
const PROFILE_FIELDS = new Set(["first_name", "last_name", "metadata"]);
const SELF_FIELDS = new Set([...PROFILE_FIELDS, "username"]);

function assertMayEdit(principal: Principal, target: UserRow, fields: string[]): void {
  if (can(principal, "users:write")) return;
  const allowed =
    target.access === "self"
      ? SELF_FIELDS
      : target.access === "managed" || (target.access === "shared" && sharedScopes(target).includes("profile:write"))
        ? PROFILE_FIELDS
        : new Set<string>();
  const denied = fields.filter((f) => !allowed.has(f));
  if (denied.length > 0) throw forbidden(`You may not change ${denied.join(", ")} of this user.`);
}

const sharedScopes = (row: UserRow) => JSON.parse(row.share_scopes ?? "[]") as string[];

interface UserChanges {
  username?: string | null;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  is_active?: boolean;
  metadata?: Record<string, unknown>;
  external_id?: string | null;
  roles?: string[];
}

/** `PATCH /v1/users/{id}` and `/me`: RFC 7396 over the editable fields, metadata merged deeply. */
export async function patchUser(c: Context<AppEnv>, id: string, patch: PatchUserInput) {
  const fields = Object.keys(patch);
  return applyChanges(c, id, fields, patch.roles, (_principal, current) => {
    const changes: UserChanges = { ...patch, metadata: undefined };
    if (patch.metadata !== undefined) {
      const merged = mergePatch(JSON.parse(current.metadata) as Json, patch.metadata ?? null);
      changes.metadata = checkMetadata(merged ?? {});
    }
    return changes;
  });
}

/** `PUT /v1/users/{id}`: replaces names, username, email and metadata (absent → null / {}). */
export async function putUser(c: Context<AppEnv>, id: string, body: PutUserInput) {
  const changes: UserChanges = {
    username: body.username ?? null,
    email: body.email ?? null,
    first_name: body.first_name ?? null,
    last_name: body.last_name ?? null,
    metadata: body.metadata ?? {},
  };
  // Fields that PUT would actually change decide what permission it needs.
  return applyChanges(c, id, null, undefined, (principal, current) => {
    assertMayEdit(principal, current, Object.keys(effectiveChanges(current, changes)));
    return changes;
  });
}

/** The fields of `changes` whose value differs from the row's (roles are diffed apart). */
function effectiveChanges(current: UserRow, changes: UserChanges): UserChanges {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || k === "roles") continue;
    const differs =
      k === "metadata"
        ? JSON.stringify(v) !== current.metadata
        : k === "is_active"
          ? v !== (current.is_active === 1)
          : v !== (current as Record<string, unknown>)[k];
    if (differs) out[k] = v;
  }
  return out as UserChanges;
}

function checkMetadata(value: Json): Record<string, unknown> {
  const result = Metadata.safeParse(value);
  if (!result.success) throw validationError([{ path: "metadata", message: result.error.issues[0]!.message, code: "invalid_metadata" }]);
  return result.data;
}

/**
 * The write path shared by PATCH and PUT: load what the caller sees, check permission and
 * If-Match, compute the change, then write it conditionally on the version just read (one batch
 * with the role grants, the event and the read-back). A concurrent writer makes the batch
 * change nothing: with If-Match that is a 412, without it the change is recomputed.
 */
async function applyChanges(
  c: Context<AppEnv>,
  id: string,
  fields: string[] | null,
  wantedRoles: string[] | undefined,
  compute: (principal: Principal, current: UserRow) => UserChanges,
): Promise<UserRow> {
  const db = c.var.db;
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const { principal, current, roleRows } = await loadForEdit(c, id, wantedRoles);
    if (fields) assertMayEdit(principal, current, fields);
    const pinned = expectedVersion(c, "usr", current.id, current.version);
    const changes = compute(principal, current);
    checkIdentifiersRemain(current, changes);
    if (changesWayIn(current, changes)) {
      try {
        assertCanActOn(principal, current.id, pickRoles(roleRows, JSON.parse(current.roles) as string[]), "change the sign-in of");
      } catch (refused) {
        if (changes.is_active !== false) throw refused;
        await lastOwnerOr(db, current.tenant_id, current.id, refused);
      }
    }
    const grantChanges = roleChanges(principal, current, roleRows, changes.roles);
    const effective = effectiveChanges(current, changes);
    // Nothing would change: no write, no new version (the caller's ETag stays good), no event.
    if (Object.keys(effective).length === 0 && grantChanges.add.length + grantChanges.remove.length === 0) return current;
    const result = await writeUser(db, principal, current, effective, grantChanges);
    if (result) return result;
    if (pinned !== undefined) throw preconditionFailed();
  }
  throw busy("user");
}

/** A change to what the user signs in with, or whether they can: see `assertCanActOn`. */
function changesWayIn(current: UserRow, changes: UserChanges): boolean {
  // Email and username match case-insensitively at sign-in; the external id matches exactly.
  const differs = (k: "email" | "username" | "external_id", fold = (v: string) => v.toLowerCase()) =>
    changes[k] !== undefined && fold(changes[k] ?? "") !== fold(current[k] ?? "");
  return (
    differs("email") ||
    differs("username") ||
    differs("external_id", (v) => v) ||
    (changes.is_active === false && current.is_active === 1)
  );
}

function checkIdentifiersRemain(current: UserRow, changes: UserChanges): void {
  const pick = (k: "email" | "username" | "external_id") => (k in changes && changes[k] !== undefined ? changes[k] : current[k]);
  if (!pick("email") && !pick("username") && !pick("external_id") && !current.is_managed) {
    throw validationError(
      ["email", "username", "external_id"].map((path) => ({
        path,
        message: "A user keeps at least one of email, username or external_id.",
        code: "identifier_required",
      })),
    );
  }
}

interface RoleDiff {
  add: string[];
  remove: string[];
}

/**
 * The user as the caller sees them, with (when roles change) the role rows involved, in one
 * round trip that also carries a pending session check.
 */
async function loadForEdit(c: Context<AppEnv>, target: string, wantedRoles?: string[]) {
  const db = c.var.db;
  const viewer = batchedViewer(c);
  const id = targetOf(c, target);
  const statements = [findVisibleUser(db, { ...viewer, tenantWide: true }, id)] as BatchItem<"sqlite">[];
  // The user's own roles come along too (same round trip): changing how they sign in needs them.
  statements.push(rolesStatement(db, viewer.tenantId, wantedRoles ?? [], id));
  const [principal, [current, roleRows]] = await readWithSession<[UserRow | undefined, RoleRecord[] | undefined]>(c, statements);
  if (!current || (current.access === "tenant" && !can(principal, "users:read"))) throw notFound("User");
  return { principal, current, roleRows: roleRows ?? [] };
}

function roleChanges(principal: Principal, current: UserRow, roleRows: RoleRecord[], wanted?: string[]): RoleDiff {
  if (!wanted) return { add: [], remove: [] };
  const held = JSON.parse(current.roles) as string[];
  const add = [...new Set(wanted)].filter((r) => !held.includes(r));
  const remove = held.filter((r) => !wanted.includes(r));
  if (add.length + remove.length === 0) return { add, remove };
  if (current.access === "self" && !can(principal, "roles:write")) {
    throw forbidden("You cannot change your own roles.");
  }
  assertCanGrant(principal, pickRoles(roleRows, [...add, ...remove]));
  return { add, remove };
}

async function writeUser(db: Db, principal: Principal, current: UserRow, changes: UserChanges, roles: RoleDiff) {
  const set: Partial<typeof users.$inferInsert> = {};
  if (changes.username !== undefined) set.username = changes.username;
  if (changes.email !== undefined) set.email = changes.email;
  if (changes.first_name !== undefined) set.firstName = changes.first_name;
  if (changes.last_name !== undefined) set.lastName = changes.last_name;
  if (changes.is_active !== undefined) set.isActive = changes.is_active;
  if (changes.metadata !== undefined) set.metadata = JSON.stringify(changes.metadata);
  if (changes.external_id !== undefined) set.externalId = changes.external_id;
  const nextVersion = current.version + 1;
  const where = and(eq(users.tenantId, current.tenant_id), eq(users.id, current.id), eq(users.version, current.version));
  // The batch is one transaction: every statement before the UPDATE acts only while the row
  // is still at the version this change was computed from; a concurrent writer voids them all.
  const unchanged = sql`EXISTS (SELECT 1 FROM users WHERE tenant_id = ${current.tenant_id} AND id = ${current.id} AND version = ${current.version})`;
  const fieldsChanged = [...Object.keys(changes), ...(roles.add.length + roles.remove.length ? ["roles"] : [])];
  const statements = [
    roles.remove.length
      ? db.run(sql`DELETE FROM user_roles WHERE tenant_id = ${current.tenant_id} AND user_id = ${current.id}
          AND role IN (${sql.join(roles.remove.map((r) => sql`${r}`), sql`, `)}) AND ${unchanged}`)
      : noop(db),
    roles.add.length
      ? db.run(sql`INSERT INTO user_roles (tenant_id, user_id, role)
          SELECT ${current.tenant_id}, ${current.id}, value FROM json_each(${JSON.stringify(roles.add)}) WHERE ${unchanged}`)
      : noop(db),
    db.run(sql`INSERT INTO events (id, tenant_id, type, data, created_at)
      SELECT ${newId("evt")}, ${current.tenant_id}, 'user.updated',
        ${JSON.stringify({ user_id: current.id, fields: fieldsChanged, actor: actorOf(principal) })}, ${isoNow()}
      WHERE ${unchanged}`),
    db.update(users).set({ ...set, updatedAt: isoNow(), version: nextVersion }).where(where).returning({ id: users.id }),
    findVisibleUser(db, { ...viewerOf(principal), tenantWide: true }, current.id),
  ] as const;
  const [, , , updated, after] = await guarded(() => batch(db, statements));
  return updated.length === 1 && after ? after : null;
}

export { userEtag };
