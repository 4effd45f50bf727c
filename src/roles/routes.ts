import { Hono } from "hono";
import type { AppEnv } from "../env";

export const roles = new Hono<AppEnv>();
export const permissions = new Hono<AppEnv>();
