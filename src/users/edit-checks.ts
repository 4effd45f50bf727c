import { sql, type SQL } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import {
  callerHolds,
  ifMatchCheck,
  jsonArrayOf,
  missingPermissions,
  namesWhere,
  sessionChecks,
  tenantIn,
  writeCaller,
  type Check,
  type Guard,
  type WriteCaller,
} from "../auth/guards";
import { rolePermissionsJson } from "../auth/repo";
import { lastOwner } from "../lib/db-errors";
import { preconditionFailed } from "../lib/etag";
import { forbidden, notFound, validationError } from "../lib/errors";
import { cannotActOn } from "../roles/repo";
import { grantCheck, knownRolesCheck, rowsOf } from "../roles/guards";
import { targetOf, writerViewer } from "./read";
import { isLastActiveOwnerSql, visibleUserSql } from "./repo";
import { METADATA_MAX_BYTES, METADATA_TOO_LARGE } from "./schemas";

/*
 * What PATCH and PUT of a user check, in the order they answer, as guards of the write batch
 * (src/auth/guards.ts), evaluated on the user as the batch finds them (`t`, read as the caller
 * sees them): 404 → 403 fields → 412 → 422 metadata → 422 identifiers → 403/409 the way in →
 * 422 unknown roles → 403 own roles → 403 grants. Uniqueness (409) and the last owner (409) are
 * the database's own constraints and triggers.
 */

/** Column references of the users row aliased `alias`. */
export type Col = (column: string) => SQL;
export const columns = (alias: string): Col => (column) => sql.raw(`${alias}.${column}`);

type Field = "username" | "email" | "first_name" | "last_name" | "is_active" | "metadata" | "external_id";

/** One field's new value, as SQL over the row's current columns. */
export interface FieldChange {
  field: Field;
  value: (col: Col) => SQL;
}

export interface Edit {
  changes: FieldChange[];
  /** The fields the request names (PATCH), or null when only those that change count (PUT). */
  named: string[] | null;
  /** The roles the user should hold, when the request sets them. */
  roles?: string[];
  /** The request sets is_active: false. */
  deactivates: boolean;
  /** metadata is merged, so its size is known only in SQL. */
  mergesMetadata: boolean;
}

export interface EditTarget {
  caller: WriteCaller;
  tenantId: string;
  targetId: string;
}

/** Who edits whom (`me` is the caller: API keys and platform keys have none, 403). */
export function editTarget(c: Context<AppEnv>, id: string): EditTarget {
  const caller = writeCaller(c);
  const tenantId = tenantIn(caller);
  return { caller, tenantId, targetId: targetOf(c, id) };
}

const t = columns("t");

/** Whether a change gives the row aliased by `col` a new value (null-safe, exact). */
export const differs = (ch: FieldChange, col: Col = t) => sql`(${ch.value(col)}) IS NOT ${col(ch.field)}`;

/** Fields of a user a caller may change, by who the caller is to that user. */
const PROFILE_FIELDS = new Set(["first_name", "last_name", "metadata"]);
const SELF_FIELDS = new Set([...PROFILE_FIELDS, "username"]);

const sharedProfileWrite = sql`(t.access = 'shared' AND EXISTS (SELECT 1 FROM json_each(t.share_scopes) WHERE value = 'profile:write'))`;

function allowedWithoutUsersWrite(field: string): SQL {
  if (PROFILE_FIELDS.has(field)) return sql`(t.access IN ('self', 'managed') OR ${sharedProfileWrite})`;
  return SELF_FIELDS.has(field) ? sql`t.access = 'self'` : sql`0`;
}

/** Without users:write, only some fields, of some users (self, managed, shared with profile:write). */
function mayEditCheck(caller: WriteCaller, edit: Edit): Check {
  const considered: [string, SQL][] = edit.named
    ? edit.named.map((f) => [f, sql`1`])
    : edit.changes.map((ch) => [ch.field, differs(ch)]);
  if (considered.length === 0) return { refuses: false, answer: () => forbidden() };
  const denied = namesWhere(considered.map(([f, c]) => [f, sql`${c} AND NOT ${allowedWithoutUsersWrite(f)}`]));
  return {
    refuses: sql`NOT ${callerHolds(caller, "users:write")} AND EXISTS (${denied})`,
    evidence: jsonArrayOf(denied),
    answer: (fields: string[]) => forbidden(`You may not change ${fields.join(", ")} of this user.`),
  };
}

function metadataCheck(edit: Edit): Check {
  const merged = edit.changes.find((ch) => ch.field === "metadata");
  if (!edit.mergesMetadata || !merged) return { refuses: false, answer: preconditionFailed };
  return {
    refuses: sql`length(CAST(${merged.value(t)} AS BLOB)) > ${METADATA_MAX_BYTES}`,
    answer: () => validationError([{ path: "metadata", message: METADATA_TOO_LARGE, code: "invalid_metadata" }]),
  };
}

/** A user (but a managed one) keeps at least one of email, username or external_id. */
function identifiersCheck(edit: Edit): Check {
  const after = (field: Field) => edit.changes.find((ch) => ch.field === field)?.value(t) ?? t(field);
  const empty = (["email", "username", "external_id"] as const).map((f) => sql`coalesce(${after(f)}, '') = ''`);
  return {
    refuses: sql`t.is_managed = 0 AND ${sql.join(empty, sql` AND `)}`,
    answer: () =>
      validationError(
        ["email", "username", "external_id"].map((path) => ({
          path,
          message: "A user keeps at least one of email, username or external_id.",
          code: "identifier_required",
        })),
      ),
  };
}

/**
 * A change to what another user signs in with, or whether they can, needs every permission their
 * roles carry (src/roles/repo.ts `assertCanActOn`); deactivating a tenant's last active owner is
 * a 409 whoever asks.
 */
function wayInChecks(caller: WriteCaller, tenantId: string, edit: Edit): Check[] {
  const change = (f: Field) => edit.changes.find((ch) => ch.field === f);
  const parts: SQL[] = [];
  // Email and username match case-insensitively at sign-in; the external id matches exactly.
  for (const f of ["email", "username"] as const) {
    const ch = change(f);
    if (ch) parts.push(sql`lower(coalesce(${ch.value(t)}, '')) IS NOT lower(coalesce(t.${sql.raw(f)}, ''))`);
  }
  const ext = change("external_id");
  if (ext) parts.push(sql`coalesce(${ext.value(t)}, '') IS NOT coalesce(t.external_id, '')`);
  if (edit.deactivates) parts.push(sql`t.is_active = 1`);
  if (parts.length === 0) return [];
  const theirs = sql`SELECT tp.value FROM user_roles ur
    JOIN roles r ON r.tenant_id = ur.tenant_id AND r.name = ur.role
    JOIN json_each(${rolePermissionsJson("r")}) tp
    WHERE ur.tenant_id = t.tenant_id AND ur.user_id = t.id`;
  const missing = missingPermissions(theirs);
  const refused = sql`(${sql.join(parts, sql` OR `)}) AND t.id IS NOT ${caller.userId} AND EXISTS (${missing})`;
  return [
    { refuses: edit.deactivates ? sql`${refused} AND ${isLastActiveOwnerSql(tenantId, sql`t.id`)}` : false, answer: lastOwner },
    { refuses: refused, evidence: jsonArrayOf(missing), answer: (m: string[]) => cannotActOn("change the sign-in of", m) },
  ];
}

/** Setting roles: they must exist, one's own need roles:write, and each one granted or revoked the privilege rule. */
function roleChecks(caller: WriteCaller, target: EditTarget, roles: string[] | undefined): Check[] {
  if (!roles) return [];
  const { tenantId, targetId } = target;
  const wanted = rowsOf(roles);
  const held = sql`SELECT role FROM user_roles WHERE tenant_id = ${tenantId} AND user_id = ${targetId}`;
  const diff = sql`SELECT value FROM (${wanted}) WHERE value NOT IN (${held})
    UNION SELECT role AS value FROM (${held}) WHERE role NOT IN (${wanted})`;
  return [
    knownRolesCheck(tenantId, wanted),
    {
      refuses: sql`EXISTS (${diff}) AND t.access = 'self' AND NOT ${callerHolds(caller, "roles:write")}`,
      answer: () => forbidden("You cannot change your own roles."),
    },
    grantCheck(tenantId, diff),
  ];
}

/**
 * A guard about one user as the caller sees them (`t`): the session checks, then 404 unless the
 * user is visible (users:read, or self, managed, shared), then `more`.
 */
export function visibleUserGuard(caller: WriteCaller, targetId: string, more: Check[]): Guard {
  return {
    caller,
    with: sql`target AS (${visibleUserSql(writerViewer(caller), targetId)})`,
    join: sql`LEFT JOIN target t ON 1`,
    checks: [
      ...sessionChecks(caller),
      {
        refuses: sql`t.id IS NULL OR (t.access = 'tenant' AND NOT ${callerHolds(caller, "users:read")})`,
        answer: () => notFound("User"),
      },
      ...more,
    ],
  };
}

/** Every check of an edit, with the user it is about as `t`. */
export function editChecks(c: Context<AppEnv>, target: EditTarget, edit: Edit): Guard {
  const { caller, tenantId, targetId } = target;
  const ifMatch = ifMatchCheck(c, "usr", targetId, sql`t.version`);
  const mayEdit = mayEditCheck(caller, edit);
  return visibleUserGuard(caller, targetId, [
    // PATCH checks the fields it names before If-Match; PUT knows its fields only from the row.
    ...(edit.named ? [mayEdit, ifMatch] : [ifMatch, mayEdit]),
    metadataCheck(edit),
    identifiersCheck(edit),
    ...wayInChecks(caller, tenantId, edit),
    ...roleChecks(caller, target, edit.roles),
  ]);
}
