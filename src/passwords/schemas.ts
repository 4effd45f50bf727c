import { z } from "zod";
import { Password } from "../users/schemas";

export const ChangePasswordBody = z.strictObject({
  current_password: z.string().min(1).max(1024),
  new_password: Password,
});
export type ChangePasswordInput = z.infer<typeof ChangePasswordBody>;
