import { BUILTIN_ROLES, PERMISSION_CATALOGUE, holds, isBuiltinRole } from "../auth/permissions";
import type { ConsoleApi } from "./api";
import type { CursorList, RoleItem, User } from "./types";

/** The signed-in user and what their roles let them do. */
export interface Caller {
  user: User;
  /** The grants of the caller's roles (wildcards as granted), or the capabilities they were checked to hold. */
  permissions: string[];
  can: (permission: string) => boolean;
  /** The tenant's roles when the caller may read them (null otherwise). */
  roles: RoleItem[] | null;
}

export type CallerOutcome = { caller: Caller } | { signIn: true } | { changePassword: true } | { error: string };

/**
 * One call for most callers: GET /v1/users/me. Built-in roles' permissions are the code's own
 * catalogue; a caller with custom roles needs GET /v1/roles too (or, without roles:read, one
 * permission check per capability the console offers).
 */
export async function loadCaller(api: ConsoleApi, { withRoles = false } = {}): Promise<CallerOutcome> {
  // A page that lists roles asks for them alongside (a 403 for a caller without roles:read).
  const rolesList = () => api.get<CursorList<RoleItem>>("/v1/roles?limit=500");
  const [me, early] = await Promise.all([api.get<User>("/v1/users/me"), withRoles ? rolesList() : null]);
  if (me.status === 401) return { signIn: true };
  if (me.status === 403 && (me.body as { code?: string })?.code === "password_change_required") return { changePassword: true };
  if (!me.ok) return { error: `Could not load your account (${me.status}).` };
  const user = me.body;
  const builtinOnly = user.roles.every(isBuiltinRole);
  let permissions: string[] = builtinOnly ? user.roles.flatMap((r) => [...BUILTIN_ROLES[r as keyof typeof BUILTIN_ROLES].permissions]) : [];
  const list = early ?? (builtinOnly ? null : await rolesList());
  const roles = list?.ok ? list.body.items : null;
  if (!builtinOnly) {
    const mine = new Set(user.roles);
    permissions = roles ? roles.filter((r) => mine.has(r.name)).flatMap((r) => r.permissions) : await checkEach(api);
  }
  return { caller: { user, permissions, roles, can: (p) => holds(permissions, p) } };
}

async function checkEach(api: ConsoleApi): Promise<string[]> {
  const answers = await Promise.all(
    // What the console offers depends on the catalogue's permissions; the API decides again on every request.
    PERMISSION_CATALOGUE.map((p) => api.get(`/v1/permissions/check?permission=${encodeURIComponent(p)}`)),
  );
  return PERMISSION_CATALOGUE.filter((_, i) => answers[i]!.ok);
}
