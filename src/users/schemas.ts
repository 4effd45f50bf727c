import { z } from "zod";
import { listQuery, sortParam } from "../lib/pagination";
import { fieldsOf } from "../lib/fields";

export const ROLE_NAME = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, "Role names are 1–64 characters of A–Z, a–z, 0–9, . _ : -");

export const METADATA_MAX_BYTES = 16 * 1024;
export const METADATA_TOO_LARGE = "metadata is larger than 16 KiB";

export const Email = z.email("Not a valid email address").max(254);
/**
 * A letter outside ASCII must have no case. Uniqueness and lookups compare `lower(username)` in
 * SQLite, which folds only A–Z; "Zoë" and "ZOË" would be two users. Caseless scripts (李, עברית)
 * fold to themselves, so they stay allowed.
 */
const foldsInSqlite = (s: string) => [...s].every((ch) => ch <= "\x7f" || ch.toLowerCase() === ch.toUpperCase());

export const Username = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N}._@+-]+$/u, "Usernames are letters, digits and . _ @ + -")
  .refine(foldsInSqlite, "Letters outside A–Z must be caseless (no upper- and lower-case forms): usernames are unique ignoring case")
  .meta({ description: "Letters, digits and . _ @ + -; letters outside A–Z only from caseless scripts. Unique in the tenant, ignoring case." });
export const PersonName = z.string().trim().min(1).max(100);
export const ExternalId = z
  .string()
  .min(1)
  .max(255)
  .refine(foldsInSqlite, "Letters outside A–Z must be caseless (no upper- and lower-case forms): external ids are unique ignoring case")
  .meta({ description: "Your identity provider's id for the user (an external token's sub is matched to it exactly). Unique in the tenant, ignoring case; letters outside A–Z only from caseless scripts." });
/** 8–256 characters, counted as Unicode code points (an emoji is one character, not two). */
export const Password = z
  .string()
  .max(1024, "Passwords are at most 256 characters")
  .refine((p) => [...p].length >= 8, "Passwords are at least 8 characters")
  .refine((p) => [...p].length <= 256, "Passwords are at most 256 characters")
  .meta({ minLength: 8, maxLength: 256, description: "8–256 characters (Unicode code points)." });

/** A free JSON object, at most 16 KiB serialized. */
export const Metadata = z
  .record(z.string(), z.json())
  .refine((v) => new TextEncoder().encode(JSON.stringify(v)).byteLength <= METADATA_MAX_BYTES, {
    message: METADATA_TOO_LARGE,
  })
  .meta({ description: "A free JSON object of at most 16 KiB." });

export const ACCESS = ["self", "managed", "shared", "tenant"] as const;
export const SHARE_SCOPES = ["data:read", "data:write", "profile:read", "profile:write"] as const;

export const User = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    username: z.string().nullable(),
    email: z.string().nullable(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    display_name: z.string().meta({ description: "First and last name joined, else username, else email, else id." }),
    is_active: z.boolean(),
    is_managed: z.boolean(),
    manager_id: z.string().nullable(),
    roles: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    external_id: z.string().nullable(),
    has_password: z.boolean(),
    password_change_required: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
    last_login_at: z.string().nullable(),
  })
  .meta({ id: "User" });

export const UserWithAccess = User.extend({
  access: z.enum(ACCESS).meta({ description: "Why the caller sees this user." }),
  scopes: z.array(z.string()).meta({ description: "All scopes for self and managed users, the granted ones for shared users, [] for tenant-wide visibility." }),
});

/**
 * The rules of a new user that span fields: an identifier, and no temporary password without a
 * password. They are checked even when other fields are bad (`when`), so one 422 names them all;
 * a field that is present but bad counts as present (its own error names it).
 */
export function newUserRules({ requireIdentifier }: { requireIdentifier: boolean }) {
  return [
    (raw: unknown, ctx: z.RefinementCtx) => {
      const u = fieldsOf(raw);
      if (!u) return;
      if (requireIdentifier && u.email === undefined && u.username === undefined && u.external_id === undefined) {
        for (const path of ["email", "username", "external_id"]) {
          ctx.addIssue({ code: "custom", path: [path], message: "One of email, username or external_id is required.", params: { code: "identifier_required" } });
        }
      }
      if (u.temporary_password === true && u.password === undefined) {
        ctx.addIssue({ code: "custom", path: ["temporary_password"], message: "A temporary password needs a password.", params: { code: "password_required" } });
      }
    },
    { when: () => true },
  ] as const;
}

export const CreateUserBody = z
  .strictObject({
    email: Email.optional(),
    username: Username.optional(),
    first_name: PersonName.optional(),
    last_name: PersonName.optional(),
    password: Password.optional(),
    temporary_password: z.boolean().optional().meta({ description: "The user must change the password at the first sign-in." }),
    roles: z.array(ROLE_NAME).max(50).optional(),
    metadata: Metadata.optional(),
    external_id: ExternalId.optional(),
    is_active: z.boolean().optional(),
  })
  .superRefine(...newUserRules({ requireIdentifier: true }));
export type CreateUserInput = z.infer<typeof CreateUserBody>;

/** Merge patch of a user: every field optional, `null` clears it. */
export const PatchUserBody = z.strictObject({
  username: Username.nullable().optional(),
  email: Email.nullable().optional(),
  first_name: PersonName.nullable().optional(),
  last_name: PersonName.nullable().optional(),
  is_active: z.boolean().optional(),
  roles: z.array(ROLE_NAME).max(50).optional(),
  metadata: z.record(z.string(), z.json()).nullable().optional().meta({ description: "Merged deeply (RFC 7396): null removes a key." }),
  external_id: ExternalId.nullable().optional(),
});
export type PatchUserInput = z.infer<typeof PatchUserBody>;

export const PatchMeBody = PatchUserBody.pick({ username: true, first_name: true, last_name: true, metadata: true });

/** PUT replaces these fields; absent ones become null ({} for metadata). */
export const PutUserBody = z.strictObject({
  username: Username.nullable().optional(),
  email: Email.nullable().optional(),
  first_name: PersonName.nullable().optional(),
  last_name: PersonName.nullable().optional(),
  metadata: Metadata.nullable().optional(),
});
export type PutUserInput = z.infer<typeof PutUserBody>;

const booleanParam = z
  .enum(["true", "false", "1", "0"], { message: "Use true or false" })
  .transform((v) => v === "true" || v === "1");

export const SORT_FIELDS = [
  "id",
  "username",
  "email",
  "first_name",
  "last_name",
  "created_at",
  "last_login_at",
  "is_active",
] as const;

export const ListUsersQuery = listQuery({
  search: z
    .string()
    .max(200)
    // The trigram index cannot take a NUL in its query; no control character is worth searching for.
    .regex(/^[^\u0000-\u001f\u007f]*$/, "search must not contain control characters")
    .optional()
    .meta({ description: "Case-insensitive substring of username, first name, last name or email." }),
  is_active: booleanParam.optional(),
  is_managed: booleanParam.optional(),
  username: z.string().max(256).optional().meta({ description: "Exact username (case-insensitive)." }),
  email: z.string().max(256).optional().meta({ description: "Exact email (case-insensitive)." }),
  role: z.string().max(64).optional(),
  manager_id: z.string().max(64).optional(),
  include_managed: booleanParam.optional().meta({ description: "Include the users you manage (default true)." }),
  include_shared: booleanParam.optional().meta({ description: "Include the users who shared access with you (default true)." }),
  sort: sortParam(SORT_FIELDS)
    .optional()
    .meta({
      description: `Comma list of ${SORT_FIELDS.join(", ")}; prefix - for descending. Default created_at,id. Text fields sort with A–Z folded and other letters as they are (SQLite's lower(): "Émile" sorts after "zed").`,
    }),
  tenant: z.string().optional().meta({ description: "Platform keys: the tenant to act in (as X-Tenant)." }),
});
export type ListUsersInput = z.infer<typeof ListUsersQuery>;

export const UserIdParam = z.object({ id: z.string().min(1).max(64) });

export const CreateManagedUserBody = z.strictObject({
  first_name: PersonName,
  last_name: PersonName,
  metadata: Metadata.optional(),
});

