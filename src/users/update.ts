import { sql, type SQL } from "drizzle-orm";
import type { Context } from "hono";
import type { BatchItem } from "drizzle-orm/batch";
import type { AppEnv, Db } from "../env";
import { jsonArrayOf, namesWhere, writeGuarded } from "../auth/guards";
import { newId } from "../lib/ids";
import { isoNow } from "../lib/time";
import { writerViewer } from "./read";
import { findVisibleUser, type UserRow } from "./repo";
import type { PatchUserInput, PutUserInput } from "./schemas";
import { columns, differs, editChecks, editTarget, type Col, type Edit, type EditTarget, type FieldChange } from "./edit-checks";

/*
 * PATCH and PUT of a user in one round trip, whatever runs at the same time: the new values are
 * SQL over the row as the batch finds it (metadata through `json_patch`, RFC 7396), the checks
 * ride in the same batch as guards (./edit-checks.ts), and a change that changes nothing writes
 * nothing. So concurrent patches never conflict: each applies to the version it finds, and only
 * If-Match pins one (412 otherwise).
 */

/** `PATCH /v1/users/{id}` and `/me`: RFC 7396 over the editable fields, metadata merged deeply. */
export async function patchUser(c: Context<AppEnv>, id: string, patch: PatchUserInput): Promise<UserRow> {
  const changes: FieldChange[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined || field === "roles") continue;
    if (field === "metadata") {
      changes.push({ field, value: value === null ? () => sql`'{}'` : (col) => sql`json_patch(${col("metadata")}, ${JSON.stringify(value)})` });
    } else if (field === "is_active") {
      changes.push({ field, value: () => sql`${value ? 1 : 0}` });
    } else {
      changes.push({ field: field as FieldChange["field"], value: () => sql`${value}` });
    }
  }
  return applyEdit(c, id, {
    changes,
    named: Object.keys(patch),
    roles: patch.roles,
    deactivates: patch.is_active === false,
    mergesMetadata: patch.metadata !== undefined && patch.metadata !== null,
  });
}

/** `PUT /v1/users/{id}`: replaces names, username, email and metadata (absent → null / {}). */
export async function putUser(c: Context<AppEnv>, id: string, body: PutUserInput): Promise<UserRow> {
  const value = (v: string | null | undefined) => () => sql`${v ?? null}`;
  return applyEdit(c, id, {
    changes: [
      { field: "username", value: value(body.username) },
      { field: "email", value: value(body.email) },
      { field: "first_name", value: value(body.first_name) },
      { field: "last_name", value: value(body.last_name) },
      { field: "metadata", value: value(JSON.stringify(body.metadata ?? {})) },
    ],
    // The fields PUT would actually change decide what permission it needs.
    named: null,
    deactivates: false,
    mergesMetadata: false,
  });
}

/** The batch of an edit: guard, then the change, then the user read back. */
async function applyEdit(c: Context<AppEnv>, id: string, edit: Edit): Promise<UserRow> {
  const db = c.get("db");
  const target = editTarget(c, id);
  const statements = [...changeStatements(db, target, edit), findVisibleUser(db, writerViewer(target.caller), target.targetId)];
  const results = await writeGuarded<unknown[]>(c, editChecks(c, target, edit), statements);
  return results.at(-1) as UserRow;
}

/**
 * The event, the UPDATE and the role grants of an edit, each acting only on what differs from
 * the row as the batch finds it: a change that changes nothing writes nothing.
 */
function changeStatements(db: Db, { caller, tenantId, targetId }: EditTarget, edit: Edit): BatchItem<"sqlite">[] {
  if (edit.changes.length === 0 && !edit.roles) return [];
  const statements: BatchItem<"sqlite">[] = [];
  const now = isoNow();
  const heldRoles = sql`SELECT role FROM user_roles WHERE tenant_id = ${tenantId} AND user_id = ${targetId}`;
  const wanted = sql`SELECT value FROM json_each(${JSON.stringify(edit.roles ?? [])})`;
  const rolesDiffer = edit.roles
    ? sql`(EXISTS (SELECT 1 FROM (${wanted}) WHERE value NOT IN (${heldRoles}))
        OR EXISTS (SELECT 1 FROM (${heldRoles}) WHERE role NOT IN (${wanted})))`
    : sql`0`;
  // Field names in the order the request named them, "roles" last (as the event lists them).
  const changed = (col: Col) =>
    jsonArrayOf(namesWhere([...edit.changes.map((ch): [string, SQL] => [ch.field, differs(ch, col)]), ["roles", rolesDiffer]]));
  const anyChange = (col: Col) => sql.join([...edit.changes.map((ch) => differs(ch, col)), rolesDiffer], sql` OR `);
  const u = columns("u");
  const row = columns("users");
  const data = sql`json_object('user_id', u.id, 'fields', json(${changed(u)}), 'actor', json(${JSON.stringify(caller.actor)}))`;
  statements.push(
    db.run(sql`INSERT INTO events (id, tenant_id, type, data, created_at)
      SELECT ${newId("evt")}, u.tenant_id, 'user.updated', ${data}, ${now}
      FROM users u WHERE u.tenant_id = ${tenantId} AND u.id = ${targetId} AND (${anyChange(u)})`),
    db.run(sql`UPDATE users SET ${sql.join(
      edit.changes.map((ch) => sql`${sql.raw(ch.field)} = ${ch.value(row)}`),
      sql`, `,
    )}${edit.changes.length ? sql`, ` : sql``}updated_at = ${now}, version = version + 1
      WHERE tenant_id = ${tenantId} AND id = ${targetId} AND (${anyChange(row)})`),
  );
  if (edit.roles) {
    statements.push(
      db.run(sql`DELETE FROM user_roles WHERE tenant_id = ${tenantId} AND user_id = ${targetId} AND role NOT IN (${wanted})`),
      db.run(sql`INSERT INTO user_roles (tenant_id, user_id, role)
        SELECT DISTINCT ${tenantId}, ${targetId}, value FROM json_each(${JSON.stringify(edit.roles)})
        WHERE value NOT IN (${heldRoles})`),
    );
  }
  return statements;
}
