import { z } from "zod";
import { paginationQuery } from "../lib/pagination";
import { Email, Metadata, Password, PersonName, Username } from "../users/schemas";

export const Slug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "Slugs are 1–63 lower-case letters, digits and inner hyphens");
export const TenantName = z.string().trim().min(1).max(200);

export const Tenant = z
  .object({ id: z.string(), slug: z.string(), name: z.string(), created_at: z.string(), updated_at: z.string() })
  .meta({ id: "Tenant" });

export const CreateTenantBody = z.strictObject({
  slug: Slug,
  name: TenantName,
  owner: z
    .strictObject({
      email: Email,
      password: Password.optional(),
      temporary_password: z.boolean().optional(),
      username: Username.optional(),
      first_name: PersonName.optional(),
      last_name: PersonName.optional(),
      metadata: Metadata.optional(),
    })
    .optional()
    .meta({ description: "The tenant's first owner, created with the owner role." }),
});
export type CreateTenantInput = z.infer<typeof CreateTenantBody>;

export const PatchTenantBody = z.strictObject({ slug: Slug.optional(), name: TenantName.optional() });

export const TenantIdParam = z.object({ id: z.string().min(1).max(64) });

export const ListTenantsQuery = z.object({ ...paginationQuery });
