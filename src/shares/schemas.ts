import { z } from "zod";
import { listQuery } from "../lib/pagination";
import { SHARE_SCOPES } from "../users/schemas";

export const ShareBody = z.strictObject({
  scopes: z
    .array(z.enum(SHARE_SCOPES))
    .min(1, "Grant at least one scope (delete the share to revoke all).")
    .max(SHARE_SCOPES.length)
    .refine((s) => new Set(s).size === s.length, { message: "Scopes must not repeat." })
    .meta({ description: `Any of ${SHARE_SCOPES.join(", ")}.` }),
});

export const Share = z
  .object({
    user_id: z.string().meta({ description: "The user the access is granted to." }),
    owner_id: z.string().meta({ description: "The user who shares (you)." }),
    scopes: z.array(z.enum(SHARE_SCOPES)),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "Share" });

export const ShareUserParam = z.object({ user_id: z.string().min(1).max(64) });

export const ListSharesQuery = listQuery({});
