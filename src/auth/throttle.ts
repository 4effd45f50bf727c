import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";

export class Throttle extends DurableObject<Bindings> {}
