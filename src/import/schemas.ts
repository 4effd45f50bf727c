import { z } from "zod";
import { idPattern } from "../lib/ids";
import { Email, ExternalId, Metadata, PersonName, ROLE_NAME, User, Username } from "../users/schemas";

export const MAX_IMPORT_ITEMS = 1000;

/** RFC 3339 with an offset, stored as UTC with milliseconds (the form userplane writes). */
const Timestamp = z.iso
  .datetime({ offset: true, message: "Use an RFC 3339 time, e.g. 2024-05-01T12:00:00Z" })
  .transform((s) => new Date(s).toISOString());

const Base64 = z
  .string()
  .max(1024)
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, "Not base64");

/** Fields of an exported User that say nothing new: accepted so an export line imports as it is. */
const ignored = (what: string) => z.unknown().optional().meta({ description: `${what}; accepted and ignored.` });

export const HASH_FORMATS_DESCRIPTION =
  "Recognised by its shape: bcrypt ($2a$, $2b$, $2y$, cost ≤ 14); argon2id and argon2i PHC ($argon2id$v=19$m=…,t=…,p=…$salt$hash, m ≤ 65536 KiB, m·t ≤ 196608 (64 MiB with t=3), p ≤ 16); scrypt PHC ($scrypt$ln=…,r=…,p=…$salt$hash, 128·N·r ≤ 64 MiB, p ≤ 16); PBKDF2 PHC ($pbkdf2-sha256$i=…$salt$hash or $pbkdf2-sha512$…, also passlib's bare-rounds form; i ≤ 2,000,000); Django (pbkdf2_sha256$iterations$salt$hash, the same cap); and every hash as userplane exports it (its own scrypt is a $scrypt$ PHC string; a Firebase hash is $firebase-scrypt$rounds=R,mem_cost=M$signer_key$salt_separator$salt$hash). A Firebase export's base64 hash goes here with password_salt and the request's hash_config. Unknown: the item fails with unsupported_password_hash; beyond a cap: password_hash_too_costly. The user signs in with their old password at once; the first successful sign-in replaces the hash with userplane's scrypt.";

/** One user to import: the fields of POST /v1/users without plaintext passwords, plus what an export carries. */
export const ImportUser = z
  .strictObject({
    id: z
      .string()
      .regex(idPattern("usr"), "Not a usr_ id")
      .optional()
      .meta({ description: 'A usr_ id. Kept with "ids": "keep"; with "new" only a name that later items\' manager_id may use.' }),
    email: Email.nullable().optional(),
    username: Username.nullable().optional(),
    first_name: PersonName.nullable().optional(),
    last_name: PersonName.nullable().optional(),
    roles: z.array(ROLE_NAME).max(50).optional().meta({ description: 'Default ["member"] for a created user.' }),
    metadata: Metadata.optional(),
    external_id: ExternalId.nullable().optional(),
    is_active: z.boolean().optional(),
    created_at: Timestamp.optional().meta({ description: "RFC 3339; default now." }),
    last_login_at: Timestamp.nullable().optional(),
    password_change_required: z.boolean().optional().meta({ description: "The user must change the password at the next sign-in." }),
    manager_id: z
      .string()
      .min(1)
      .max(64)
      .nullable()
      .optional()
      .meta({ description: "Makes the user managed by an existing user of the tenant or by an earlier item of this request (its id); else manager_not_found. Managed users get no password_hash." }),
    password_hash: z.string().min(1).max(1024).nullable().optional().meta({ description: HASH_FORMATS_DESCRIPTION }),
    password_salt: Base64.nullable()
      .optional()
      .meta({ description: "Firebase only: the user's base64 salt; needs hash_config.firebase_scrypt." }),
    tenant_id: ignored("The source tenant"),
    display_name: ignored("Derived"),
    is_managed: ignored("Follows from manager_id"),
    has_password: ignored("Follows from password_hash"),
    updated_at: ignored("Set by the import"),
  })
  .meta({ id: "ImportUser" });
export type ImportUserInput = z.infer<typeof ImportUser>;

const FirebaseScryptConfig = z.strictObject({
  signer_key: Base64.min(1).meta({ description: "The project's base64 signer key (Firebase console: password hash parameters)." }),
  salt_separator: Base64.meta({ description: "base64" }),
  rounds: z.int().min(1),
  mem_cost: z
    .int()
    .min(1)
    .meta({ description: "128·2^mem_cost·rounds must stay ≤ 64 MiB, else the items using it fail with password_hash_too_costly (the request itself is not refused)." }),
});

const envelope = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    users: z.array(item).min(1).max(MAX_IMPORT_ITEMS).meta({ description: `1–${MAX_IMPORT_ITEMS} users, applied in order.` }),
    on_conflict: z
      .enum(["fail", "skip", "update"])
      .optional()
      .meta({ description: "What an item whose email, username, external_id or (ids keep) id matches a user does: fail it (conflict), skip it, or update that user with the given fields (default fail)." }),
    ids: z
      .enum(["keep", "new"])
      .optional()
      .meta({ description: '"keep" (default) keeps each given id; ids are unique across the deployment, so an id another user has (in any tenant) fails the item with conflict. "new" gives every created user a new id and rewrites manager_id references to earlier items.' }),
    hash_config: z.strictObject({ firebase_scrypt: FirebaseScryptConfig.optional() }).optional(),
  });

/**
 * What validates the request: items are checked one by one afterwards (a bad item fails alone),
 * so only the envelope can make the request a 422.
 */
export const ImportEnvelope = envelope(z.unknown());
export type ImportEnvelopeInput = z.infer<typeof ImportEnvelope>;
export type ImportOptions = Omit<ImportEnvelopeInput, "users">;

/** What the OpenAPI document shows: the same envelope with its items described. */
export const ImportBody = envelope(ImportUser).meta({ id: "ImportRequest" });

const ItemError = z.object({ path: z.string(), message: z.string(), code: z.string() });

export const ImportResult = z
  .object({
    created: z.int(),
    updated: z.int(),
    skipped: z.int(),
    failed: z.int(),
    results: z
      .array(
        z.object({
          index: z.int(),
          status: z.enum(["created", "updated", "skipped", "failed"]),
          id: z.string().optional().meta({ description: "The user's id in this tenant (absent for a failed item)." }),
          errors: z
            .array(ItemError)
            .optional()
            .meta({ description: "Why the item failed; paths are the item's own fields (email, roles, password_hash…). Codes: zod's for bad values, conflict, forbidden, unknown_role, manager_not_found, managed_user_password, manager_change_unsupported, identifier_required, hash_config_required, unsupported_password_hash, password_hash_too_costly, last_owner." }),
        }),
      )
      .meta({ description: "One per input item, in input order." }),
  })
  .meta({ id: "ImportResult" });
export type ImportResultBody = z.infer<typeof ImportResult>;
export type ItemResult = ImportResultBody["results"][number];

const booleanParam = z
  .enum(["true", "false", "1", "0"], { message: "Use true or false" })
  .transform((v) => v === "true" || v === "1");

export const MAX_EXPORT_LIMIT = 10000;

export const ExportQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,9}$/, "limit must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1, "limit must be at least 1").max(MAX_EXPORT_LIMIT, `limit must be at most ${MAX_EXPORT_LIMIT}`))
    .optional()
    .meta({ description: `Lines per part (1–${MAX_EXPORT_LIMIT}, default 1000).` }),
  cursor: z.string().max(256).optional().meta({ description: "From the Link header of the previous part." }),
  include_credentials: booleanParam.optional().meta({ description: "Adds password_hash (owner * or platform principal only, else 403)." }),
  tenant: z.string().optional().meta({ description: "Platform keys: the tenant to act in (as X-Tenant)." }),
});
export type ExportInput = z.infer<typeof ExportQuery>;

/** One NDJSON line of an export. */
export const ExportLine = User.extend({
  password_hash: z
    .string()
    .nullable()
    .optional()
    .meta({ description: "With include_credentials=true only: a self-describing hash the import reads without hash_config (null without a password)." }),
}).meta({ id: "ExportLine" });
