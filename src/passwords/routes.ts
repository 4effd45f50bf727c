import { Hono } from "hono";
import type { AppEnv } from "../env";

export const passwords = new Hono<AppEnv>();
