import { Hono } from "hono";
import type { AppEnv } from "../env";

export const apiKeys = new Hono<AppEnv>();
