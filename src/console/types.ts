import type { z } from "zod";
import type { UserWithAccess } from "../users/schemas";
import type { Role } from "../roles/schemas";
import type { ApiKey, CreatedApiKey } from "../api-keys/schemas";
import type { Session } from "../sessions/schemas";
import type { Event } from "../events/schemas";

/** The API's own answer shapes, from the same zod schemas that document them. */
export type User = z.infer<typeof UserWithAccess>;
export type RoleItem = z.infer<typeof Role>;
export type ApiKeyItem = z.infer<typeof ApiKey>;
export type NewApiKey = z.infer<typeof CreatedApiKey>;
export type SessionItem = z.infer<typeof Session>;
export type EventItem = z.infer<typeof Event>;

export interface CursorList<T> {
  items: T[];
  next_cursor?: string | null;
  previous_cursor?: string | null;
  total?: number;
}
