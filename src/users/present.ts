import type { UserRow } from "./repo";
import { etagOf } from "../lib/etag";

/** `display_name`: first and last name joined, else username, else email, else id. */
export function displayName(u: Pick<UserRow, "first_name" | "last_name" | "username" | "email" | "id">): string {
  const full = [u.first_name, u.last_name].filter(Boolean).join(" ");
  return full || u.username || u.email || u.id;
}

/** The public User object: no hash, no secrets, booleans as booleans. */
export function presentUser(row: UserRow) {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    display_name: displayName(row),
    is_active: Boolean(row.is_active),
    is_managed: Boolean(row.is_managed),
    manager_id: row.manager_id,
    roles: JSON.parse(row.roles) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    external_id: row.external_id,
    has_password: Boolean(row.has_password),
    password_change_required: Boolean(row.password_change_required),
    created_at: row.created_at,
    updated_at: row.updated_at,
    last_login_at: row.last_login_at,
  };
}

/** A user plus why the viewer sees them, as list items carry it. */
export function presentUserWithAccess(row: UserRow) {
  return {
    ...presentUser(row),
    access: row.access,
    scopes: row.access === "tenant" ? [] : (JSON.parse(row.share_scopes ?? "[]") as string[]),
  };
}

export type PresentedUser = ReturnType<typeof presentUser>;

export const userEtag = (row: Pick<UserRow, "id" | "version">) => etagOf("usr", row.id, row.version);
