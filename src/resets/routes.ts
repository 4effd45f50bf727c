import { Hono } from "hono";
import type { AppEnv } from "../env";

export const resets = new Hono<AppEnv>();
