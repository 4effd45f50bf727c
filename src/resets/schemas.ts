import { z } from "zod";
import { Password } from "../users/schemas";

export const DEFAULT_RESET_TTL_SECONDS = 3600;

export const IssueResetBody = z.strictObject({
  ttl_seconds: z
    .number()
    .int()
    .min(60)
    .max(86_400)
    .optional()
    .meta({ description: "How long the token lives: 60–86400 s, default 3600." }),
  force: z
    .boolean()
    .optional()
    .meta({ description: "Revoke an active token and issue a new one instead of answering 409." }),
});
export type IssueResetInput = z.infer<typeof IssueResetBody>;

export const ResetToken = z
  .object({
    reset_token: z.string().meta({ description: "rst_<tenant id>.<secret>: shown once, stored only as a hash." }),
    expires_at: z.string(),
    user_id: z.string(),
  })
  .meta({ id: "ResetToken" });

export const RequestResetBody = z.strictObject({
  tenant: z.string().min(1).max(255).meta({ description: "Tenant id or slug." }),
  email: z.string().min(1).max(254),
});

export const RequestResetAccepted = z.object({ status: z.literal("accepted"), message: z.string() });

export const ConfirmResetBody = z.strictObject({
  reset_token: z.string().min(1).max(512),
  password: Password,
});
