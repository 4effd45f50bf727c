import { Hono } from "hono";
import type { AppEnv } from "../env";

export const events = new Hono<AppEnv>();
