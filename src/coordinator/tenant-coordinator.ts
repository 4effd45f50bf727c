import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";

export class TenantCoordinator extends DurableObject<Bindings> {}
