import type { Principal } from "../auth/principal";
import { can } from "../auth/principal";
import type { FieldError } from "../lib/errors";
import { fieldErrors } from "../lib/validate";
import { missingPermissions, toGrant, type RoleRecord } from "../roles/repo";
import { checkImportedHash, firebaseHashString } from "../passwords/hashes";
import { ImportUser, type ImportOptions, type ImportUserInput, type ItemResult } from "./schemas";

/**
 * Deciding what each item of an import does, in memory and in input order, before anything is
 * written: the users it touches (loaded once for the whole request) and the users earlier items
 * created or changed are one state, so the identity rules hold between items as against the
 * table. The result is the final state of every touched user, written in one batch.
 */

/** A user as the import sees it: loaded from the tenant, or created by an earlier item. */
export interface UserState {
  origin: "new" | "existing";
  id: string;
  username: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  is_active: boolean;
  manager_id: string | null;
  metadata: string;
  external_id: string | null;
  /** A new hash to store; undefined keeps the stored one (existing users). */
  password_hash?: string | null;
  has_password: boolean;
  password_change_required: boolean;
  created_at: string;
  last_login_at: string | null;
  roles: string[];
  /** Existing users: their roles and version when loaded (what the write is conditional on). */
  loadedRoles: string[];
  version: number;
  /** Being deleted: still holds its email, username and id, but cannot be skipped or updated. */
  deleted: boolean;
  changed: Set<string>;
}

export interface PlanInput {
  items: { index: number; raw: unknown }[];
  options: ImportOptions;
  principal: Principal;
  existing: UserState[];
  /** Ids held by users of other tenants (or being deleted): "keep" cannot give them out. */
  takenIds: Set<string>;
  roles: Pick<RoleRecord, "name" | "permissions">[];
  /** Item id → the id of the user it became, for items applied by earlier rounds. */
  refs: Map<string, string>;
  newId: () => string;
  now: string;
}

export interface Plan {
  results: ItemResult[];
  /** Every user an applied item created or changed, in the order they were first touched. */
  touched: UserState[];
  refs: Map<string, string>;
}

class ItemFailure extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors[0]?.message);
  }
}

const fail = (path: string, message: string, code: string): never => {
  throw new ItemFailure([{ path, message, code }]);
};

const IDENTITY_FIELDS = ["email", "username", "external_id"] as const;
type IdentityField = (typeof IDENTITY_FIELDS)[number];

/** The unique keys a user holds: email, username and external id ignoring case, id exactly. */
function keysOf(u: Pick<UserState, IdentityField | "id">): [string, IdentityField | "id"][] {
  const keys: [string, IdentityField | "id"][] = [[`i:${u.id}`, "id"]];
  if (u.email) keys.push([`e:${u.email.toLowerCase()}`, "email"]);
  if (u.username) keys.push([`u:${u.username.toLowerCase()}`, "username"]);
  if (u.external_id) keys.push([`x:${u.external_id.toLowerCase()}`, "external_id"]);
  return keys;
}

export function planImport(input: PlanInput): Plan {
  const ctx = new Planner(input);
  const results = input.items.map(({ index, raw }) => ctx.apply(index, raw));
  return { results, touched: [...ctx.touched], refs: ctx.refs };
}

class Planner {
  readonly index = new Map<string, UserState>();
  readonly touched = new Set<UserState>();
  readonly refs: Map<string, string>;
  private readonly roles: Map<string, string[]>;

  constructor(private readonly input: PlanInput) {
    this.refs = new Map(input.refs);
    this.roles = new Map(input.roles.map((r) => [r.name, toGrant(r).permissions]));
    for (const user of input.existing) this.indexUser(user);
  }

  apply(index: number, raw: unknown): ItemResult {
    const parsed = ImportUser.safeParse(raw);
    if (!parsed.success) return { index, status: "failed", errors: fieldErrors(parsed.error.issues) };
    try {
      return { index, ...this.applyItem(parsed.data) };
    } catch (err) {
      if (err instanceof ItemFailure) return { index, status: "failed", errors: err.errors };
      throw err;
    }
  }

  private applyItem(item: ImportUserInput): Omit<ItemResult, "index"> {
    const keep = (this.input.options.ids ?? "keep") === "keep";
    if (keep && item.id && this.input.takenIds.has(item.id)) fail("id", "Another user already has this id (ids are unique across the deployment).", "conflict");
    const managerId = item.manager_id === undefined ? undefined : item.manager_id === null ? null : this.resolveManager(item.manager_id);
    if (managerId && item.password_hash) fail("password_hash", "A managed user gets no password: give manager_id or password_hash, not both.", "managed_user_password");
    const passwordHash = this.passwordHashOf(item);

    const matches = this.matchesOf(item, keep);
    const target = matches[0]?.user;
    if (!target) {
      const created = this.create(item, keep ? item.id : undefined, managerId ?? null, passwordHash);
      if (item.id) this.refs.set(item.id, created.id);
      return { status: "created", id: created.id };
    }
    const mode = this.input.options.on_conflict ?? "fail";
    if (target.deleted || mode === "fail") {
      throw new ItemFailure(matches.map(({ field }) => ({ path: field, message: `A user with this ${field} already exists in the tenant.`, code: "conflict" })));
    }
    if (mode === "update" && new Set(matches.map((m) => m.user)).size > 1) {
      throw new ItemFailure(matches.map(({ field }) => ({ path: field, message: "The item's identifiers match more than one user.", code: "conflict" })));
    }
    if (mode === "update") this.update(target, item, managerId, passwordHash);
    if (item.id) this.refs.set(item.id, target.id);
    return { status: mode === "update" ? "updated" : "skipped", id: target.id };
  }

  /** An existing user of the tenant or an earlier item of the request (by the id it was given). */
  private resolveManager(given: string): string {
    const id = this.refs.get(given) ?? given;
    const manager = this.index.get(`i:${id}`);
    if (!manager || manager.deleted) fail("manager_id", "No user with this id in the tenant, nor an earlier item of this request.", "manager_not_found");
    return id;
  }

  /** The hash to store (Firebase's composed into its self-describing form), null for none, undefined when not given. */
  private passwordHashOf(item: ImportUserInput): string | null | undefined {
    if (item.password_salt) {
      const config = this.input.options.hash_config?.firebase_scrypt;
      if (!config) fail("password_salt", "A password_salt (Firebase) needs hash_config.firebase_scrypt in the request.", "hash_config_required");
      if (!item.password_hash) fail("password_hash", "A password_salt comes with the password_hash it salted.", "required");
      const composed = firebaseHashString(config!, item.password_hash!, item.password_salt);
      if (!composed) fail("password_hash", "A Firebase password_hash is base64.", "unsupported_password_hash");
      return this.checked(composed!);
    }
    return item.password_hash ? this.checked(item.password_hash) : item.password_hash;
  }

  private checked(hash: string): string {
    const check = checkImportedHash(hash);
    if (!check.ok) fail("password_hash", check.message, check.code);
    return hash;
  }

  private matchesOf(item: ImportUserInput, keep: boolean) {
    const wanted = keysOf({ id: keep && item.id ? item.id : "", email: item.email ?? null, username: item.username ?? null, external_id: item.external_id ?? null });
    return wanted.flatMap(([key, field]) => {
      const user = this.index.get(key);
      return user ? [{ field, user }] : [];
    });
  }

  private create(item: ImportUserInput, id: string | undefined, managerId: string | null, passwordHash: string | null | undefined): UserState {
    if (!item.email && !item.username && !item.external_id && !managerId) {
      throw new ItemFailure(IDENTITY_FIELDS.map((path) => ({ path, message: "One of email, username or external_id is required (unless manager_id is given).", code: "identifier_required" })));
    }
    const roles = [...new Set(item.roles ?? ["member"])];
    this.assertGrantable(roles);
    const user: UserState = {
      origin: "new",
      id: id ?? this.input.newId(),
      username: item.username ?? null,
      email: item.email ?? null,
      first_name: item.first_name ?? null,
      last_name: item.last_name ?? null,
      is_active: item.is_active ?? true,
      manager_id: managerId,
      metadata: JSON.stringify(item.metadata ?? {}),
      external_id: item.external_id ?? null,
      password_hash: passwordHash ?? null,
      has_password: Boolean(passwordHash),
      password_change_required: item.password_change_required ?? false,
      created_at: item.created_at ?? this.input.now,
      last_login_at: item.last_login_at ?? null,
      roles,
      loadedRoles: [],
      version: 1,
      deleted: false,
      changed: new Set(),
    };
    this.indexUser(user);
    this.touched.add(user);
    return user;
  }

  private update(target: UserState, item: ImportUserInput, managerId: string | null | undefined, passwordHash: string | null | undefined): void {
    if (managerId !== undefined && managerId !== target.manager_id) {
      fail("manager_id", "An import does not move a user to another manager.", "manager_change_unsupported");
    }
    if (target.manager_id && passwordHash) fail("password_hash", "A managed user gets no password.", "managed_user_password");
    const next: Partial<UserState> = {};
    for (const k of ["username", "email", "first_name", "last_name", "external_id", "last_login_at"] as const) {
      if (item[k] !== undefined) next[k] = item[k];
    }
    for (const k of ["is_active", "created_at", "password_change_required"] as const) {
      if (item[k] !== undefined) next[k] = item[k] as never;
    }
    if (item.metadata !== undefined) next.metadata = JSON.stringify(item.metadata);
    if (passwordHash !== undefined) next.password_hash = passwordHash;
    const after = { ...target, ...next };
    if (!after.email && !after.username && !after.external_id && !target.manager_id) {
      fail("email", "A user keeps at least one of email, username or external_id.", "identifier_required");
    }
    for (const [key, field] of keysOf(after)) {
      const holder = this.index.get(key);
      if (holder && holder !== target) fail(field, `A user with this ${field} already exists in the tenant.`, "conflict");
    }
    const wayIn = this.changedWayIn(target, next);
    if (wayIn) this.assertCanActOn(target, wayIn);
    const roles = item.roles ? [...new Set(item.roles)] : target.roles;
    const diff = [...roles.filter((r) => !target.roles.includes(r)), ...target.roles.filter((r) => !roles.includes(r))];
    if (diff.length > 0) {
      if (target.id === this.input.principal.userId && !can(this.input.principal, "roles:write")) fail("roles", "You cannot change your own roles.", "forbidden");
      this.assertGrantable(diff);
    }
    for (const [key] of keysOf(target)) this.index.delete(key);
    for (const [k, v] of Object.entries(next)) {
      // Events name the password, never the hash column.
      if (k === "password_hash") target.changed.add("password");
      else if (v !== (target as unknown as Record<string, unknown>)[k]) target.changed.add(k);
    }
    Object.assign(target, next);
    if (passwordHash !== undefined) target.has_password = passwordHash !== null;
    if (diff.length > 0) target.changed.add("roles");
    target.roles = roles;
    this.indexUser(target);
    this.touched.add(target);
  }

  /** The first change to how the user gets in (what PATCH guards too), or null. */
  private changedWayIn(target: UserState, next: Partial<UserState>): string | null {
    const fold = (v: string | null | undefined) => (v ?? "").toLowerCase();
    if (next.email !== undefined && fold(next.email) !== fold(target.email)) return "email";
    if (next.username !== undefined && fold(next.username) !== fold(target.username)) return "username";
    if (next.external_id !== undefined && (next.external_id ?? "") !== (target.external_id ?? "")) return "external_id";
    if (next.password_hash !== undefined) return "password_hash";
    if (next.is_active === false && target.is_active) return "is_active";
    return null;
  }

  private assertCanActOn(target: UserState, field: string): void {
    if (target.id === this.input.principal.userId) return;
    const missing = missingPermissions(this.input.principal, target.roles.flatMap((r) => this.roles.get(r) ?? []));
    if (missing.length > 0) {
      fail(field, `You cannot change the sign-in of a user whose roles carry permissions you do not hold (${missing.join(", ")}).`, "forbidden");
    }
  }

  private assertGrantable(names: string[]): void {
    for (const name of names) {
      const permissions = this.roles.get(name);
      if (!permissions) fail("roles", `Unknown role "${name}".`, "unknown_role");
      const missing = missingPermissions(this.input.principal, permissions!);
      if (missing.length > 0) {
        fail("roles", `You cannot grant or revoke the role "${name}": it carries permissions you do not hold (${missing.join(", ")}).`, "forbidden");
      }
    }
  }

  private indexUser(user: UserState): void {
    for (const [key] of keysOf(user)) this.index.set(key, user);
  }
}
