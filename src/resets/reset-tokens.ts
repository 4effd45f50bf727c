import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";

/** Reset-token issuance and redemption, one object per tenant (being built in issue 3). */
export class ResetTokens extends DurableObject<Bindings> {
  /** Forgets every token of these users (cascading user delete). */
  async purgeUsers(_userIds: string[]): Promise<void> {}

  /** Forgets every token of the tenant (tenant delete). */
  async purgeAll(): Promise<void> {}
}
