import { holdsAll } from "../auth/permissions";
import type { Caller } from "./caller";
import type { RoleItem, User } from "./types";

/**
 * What the console offers on a user's page, from the caller's permissions and how they see the
 * user (the same rules the API states; the API decides again on every request).
 */
export function userActions(caller: Caller, user: User) {
  const self = caller.user.id === user.id;
  const managed = user.access === "managed";
  const write = caller.can("users:write");
  const sharedProfile = user.access === "shared" && user.scopes.includes("profile:write");
  return {
    self,
    editNames: write || self || managed || sharedProfile,
    editUsername: write || self,
    editEmail: write,
    editRoles: write,
    setActive: write && !self,
    issueReset: (write || self) && !user.is_managed,
    readSessions: self || caller.can("users:read"),
    revokeSessions: self || caller.can("sessions:write"),
    delete: caller.can("users:delete") || self || managed,
    readEvents: caller.can("events:read"),
  };
}
export type UserActions = ReturnType<typeof userActions>;

/** A role the caller may grant: they hold every permission it carries. */
export const mayGrant = (caller: Caller, role: RoleItem) => holdsAll(caller.permissions, role.permissions);
