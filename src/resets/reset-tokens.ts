import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";

export class ResetTokens extends DurableObject<Bindings> {}
