import { z } from "zod";
import { listQuery } from "../lib/pagination";
import { listOf } from "../lib/pagination";
import { ROLE_NAME } from "../users/schemas";

export const ApiKey = z
  .object({
    id: z.string(),
    tenant_id: z.string().nullable().meta({ description: "null for platform keys." }),
    user_id: z.string().nullable().meta({ description: "The user who created the key (null when a key created it); the key goes with that user." }),
    name: z.string(),
    roles: z.array(z.string()),
    prefix: z.string().meta({ description: "The first characters of the key, to recognise it by." }),
    created_at: z.string(),
    expires_at: z.string().nullable(),
  })
  .meta({ id: "ApiKey" });

export const CreatedApiKey = ApiKey.extend({
  key: z
    .string()
    .optional()
    .meta({ description: "The secret (`up_…`), shown in this answer only: it is stored as a hash. Absent from an Idempotency-Key replay." }),
}).meta({ id: "CreatedApiKey" });

export const CreateApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  roles: z
    .array(ROLE_NAME)
    .max(50)
    .meta({ description: "Roles of the tenant the key acts with; [] for platform keys." }),
  expires_at: z.iso
    .datetime({ offset: true, message: "Use an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z" })
    .nullable()
    .optional()
    .meta({ description: "When the key stops working; must be in the future. Absent or null: never." }),
});
export type CreateApiKeyInput = z.infer<typeof CreateApiKeyBody>;

export const ApiKeyIdParam = z.object({ id: z.string().min(1).max(64) });

export const ListApiKeysQuery = listQuery({
  tenant: z.string().optional().meta({ description: "Platform keys: the tenant whose keys to list (as X-Tenant); without it, the platform keys." }),
});

export const ApiKeyList = listOf(ApiKey);
