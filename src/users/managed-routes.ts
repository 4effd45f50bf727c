import { Hono } from "hono";
import type { AppEnv } from "../env";

export const managedUsers = new Hono<AppEnv>();
