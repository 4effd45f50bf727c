import { z } from "zod";
import { fieldsOf } from "../lib/fields";

/**
 * Sign-in bodies. They are lenient about what an identifier looks like (a malformed email simply
 * matches nobody, with the same 401 as every other miss) but strict about unknown fields, and
 * cap lengths so nobody can make the server hash a megabyte.
 */
export const TokenBody = z
  .strictObject({
    tenant: z.string().min(1).max(255).meta({ description: "Tenant id or slug." }),
    email: z.string().min(1).max(254).optional().meta({ description: "Sign in by email (case-insensitive), or…" }),
    username: z.string().min(1).max(64).optional().meta({ description: "…by username (case-insensitive). Exactly one of the two." }),
    password: z.string().min(1).max(1024),
  })
  // Checked even when other fields are bad (`when`), so one 422 names every bad field.
  .superRefine(
    (raw, ctx) => {
      const fields = fieldsOf(raw);
      if (!fields || (["email", "username"] as const).filter((k) => fields[k] !== undefined).length === 1) return;
      for (const path of ["email", "username"]) {
        ctx.addIssue({ code: "custom", path: [path], message: "Give exactly one of email or username.", params: { code: "exactly_one" } });
      }
    },
    { when: () => true },
  )
  .meta({ id: "TokenRequest" });
export type TokenInput = z.infer<typeof TokenBody>;

export const RefreshBody = z.strictObject({
  refresh_token: z.string().min(1).max(512).meta({ description: "The refresh token of the last sign-in or refresh." }),
});

export const TokenResponse = z
  .object({
    access_token: z.string().meta({ description: "JWT (EdDSA) with sub, tid, sid; send as Authorization: Bearer." }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().meta({ description: "Seconds until the access token expires (ACCESS_TOKEN_TTL_SECONDS)." }),
    refresh_token: z.string().meta({ description: "Opaque, single use: trade it for a new pair at POST /v1/auth/refresh." }),
    password_change_required: z
      .boolean()
      .meta({ description: "True after a temporary password: the token is good for POST /v1/users/me/password alone." }),
  })
  .meta({ id: "TokenPair" });
export type TokenPair = z.infer<typeof TokenResponse>;
