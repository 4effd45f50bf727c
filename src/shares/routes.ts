import { Hono } from "hono";
import type { AppEnv } from "../env";

export const shares = new Hono<AppEnv>();
