import { z } from "zod";
import { listQuery } from "../lib/pagination";
import { Email, Metadata, newUserRules, Password, PersonName, Username } from "../users/schemas";

/**
 * 1–64 letters, digits, `.`, `_` and `-`, starting with a letter or digit. Unique and looked up
 * case-insensitively (a case variant of a taken slug is a 409), returned as given. `ten_…` is
 * refused so that a slug can never be read as another tenant's id where either is accepted.
 */
export const Slug = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "Slugs are 1–64 letters, digits, '.', '_' and '-', starting with a letter or digit")
  .refine((s) => !/^ten_/i.test(s), "A slug cannot start with ten_ (the prefix of tenant ids)")
  .meta({ description: "1–64 letters, digits, '.', '_' and '-', starting with a letter or digit; not ten_…; unique case-insensitively." });
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
    .superRefine(...newUserRules({ requireIdentifier: false }))
    .optional()
    .meta({ description: "The tenant's first owner, created with the owner role." }),
});
export type CreateTenantInput = z.infer<typeof CreateTenantBody>;

export const PatchTenantBody = z.strictObject({ slug: Slug.optional(), name: TenantName.optional() });

export const TenantIdParam = z.object({ id: z.string().min(1).max(64) });

export const ListTenantsQuery = listQuery({});
