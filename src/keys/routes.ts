import { Hono } from "hono";
import type { AppEnv } from "../env";

export const signingKeys = new Hono<AppEnv>();
