/**
 * Permissions are data: a catalogue of `resource:action` pairs and the built-in roles derived
 * from it. Tenants add their own pairs (`tasks:admin`) through custom roles.
 */
export const PERMISSION_CATALOGUE = [
  "users:read",
  "users:write",
  "users:delete",
  "roles:read",
  "roles:write",
  "sessions:read",
  "sessions:write",
  "api_keys:read",
  "api_keys:write",
  "events:read",
  "webhooks:read",
  "webhooks:write",
] as const;

export const BUILTIN_ROLES = {
  owner: { description: "Full control of the tenant.", permissions: ["*"] },
  admin: {
    description: "Manages users, sessions, API keys, events and webhooks; reads roles.",
    permissions: ["users:*", "sessions:*", "api_keys:*", "events:*", "webhooks:*", "roles:read"],
  },
  member: { description: "Self-service only.", permissions: [] },
} as const satisfies Record<string, { description: string; permissions: readonly string[] }>;

export type BuiltinRole = keyof typeof BUILTIN_ROLES;

export const isBuiltinRole = (name: string): name is BuiltinRole => Object.hasOwn(BUILTIN_ROLES, name);

/** `resource:action`, `resource:*` or `*`; resource and action are lower-case-ish identifiers. */
export const PERMISSION_PATTERN = /^(\*|[A-Za-z0-9_.-]{1,64}:(\*|[A-Za-z0-9_.-]{1,64}))$/;

/** Does the held permission `granted` include `wanted`? Wildcards on either side are honoured. */
export function covers(granted: string, wanted: string): boolean {
  if (granted === "*") return true;
  if (wanted === "*") return false;
  if (granted === wanted) return true;
  const [gRes, gAct] = splitPermission(granted);
  const [wRes] = splitPermission(wanted);
  return gAct === "*" && gRes === wRes;
}

export function holds(held: readonly string[], wanted: string): boolean {
  return held.some((p) => covers(p, wanted));
}

/** True when every permission in `wanted` is covered by `held` (no one grants what they lack). */
export function holdsAll(held: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((w) => holds(held, w));
}

function splitPermission(p: string): [string, string] {
  const i = p.indexOf(":");
  return i < 0 ? [p, ""] : [p.slice(0, i), p.slice(i + 1)];
}
