import { z } from "zod";
import { PERMISSION_PATTERN } from "../auth/permissions";
import { listQuery } from "../lib/pagination";
import { ROLE_NAME } from "../users/schemas";

export const Permission = z
  .string()
  .regex(PERMISSION_PATTERN, "Permissions are resource:action, resource:* or * (letters, digits, _ . -)")
  .meta({ description: "`resource:action`, `resource:*` or `*`.", examples: ["tasks:admin", "chat:use", "users:*"] });

const Description = z.string().trim().max(500);

export const Role = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    permissions: z.array(z.string()).meta({ description: "Built-in roles show the permissions of the code catalogue." }),
    is_builtin: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Role" });

export const CreateRoleBody = z.strictObject({
  name: ROLE_NAME.meta({ description: "1–64 characters of A–Z, a–z, 0–9, . _ : - (case-sensitive), e.g. TASK-ADMIN." }),
  description: Description.nullable().optional(),
  permissions: z.array(Permission).max(100),
});
export type CreateRoleInput = z.infer<typeof CreateRoleBody>;

/** Merge patch of a custom role; the name cannot change (grants refer to it). */
export const PatchRoleBody = z.strictObject({
  description: Description.nullable().optional().meta({ description: "null clears it." }),
  permissions: z.array(Permission).max(100).optional().meta({ description: "Replaces the role's permissions." }),
});
export type PatchRoleInput = z.infer<typeof PatchRoleBody>;

export const RoleNameParam = z.object({ name: ROLE_NAME });

const TenantParam = z.string().optional().meta({ description: "Platform keys: the tenant to act in (as X-Tenant)." });

export const ListRolesQuery = listQuery({ tenant: TenantParam });

const Identifier = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * `?resource=…&action=…` or `?permission=resource:action`: exactly one form, complete. The
 * parts take the same characters as a permission; `action` may be `*`.
 */
export const PermissionCheckQuery = z
  .object({
    resource: z.string().regex(Identifier, "resource is 1–64 letters, digits, _ . -").optional(),
    action: z
      .string()
      .regex(/^(\*|[A-Za-z0-9_.-]{1,64})$/, "action is * or 1–64 letters, digits, _ . -")
      .optional(),
    permission: Permission.optional(),
    tenant: TenantParam,
  })
  .superRefine((q, ctx) => {
    const pair = q.resource !== undefined || q.action !== undefined;
    if (q.permission !== undefined && pair) {
      for (const path of ["permission", "resource", "action"] as const) {
        if (q[path] !== undefined) {
          ctx.addIssue({ code: "custom", path: [path], message: "Use either permission or resource and action, not both." });
        }
      }
      return;
    }
    if (q.permission !== undefined) return;
    if (!pair) {
      ctx.addIssue({ code: "custom", path: ["permission"], message: "Name the permission, or resource and action." });
      return;
    }
    for (const path of ["resource", "action"] as const) {
      if (q[path] === undefined) ctx.addIssue({ code: "custom", path: [path], message: `${path} is required with ${path === "resource" ? "action" : "resource"}.` });
    }
  });
export type PermissionCheckInput = z.infer<typeof PermissionCheckQuery>;

export const PermissionCheckResult = z.object({ allowed: z.literal(true) });
