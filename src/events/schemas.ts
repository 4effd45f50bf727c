import { z } from "zod";
import { listOf, listQuery } from "../lib/pagination";
import { EVENT_TYPES } from "./repo";

export const ListEventsQuery = listQuery({
  type: z.enum(EVENT_TYPES).optional().meta({ description: "Only events of this type." }),
  tenant: z.string().optional().meta({ description: "Platform keys: the tenant to act in (as X-Tenant)." }),
});
export type ListEventsInput = z.infer<typeof ListEventsQuery>;

export const Event = z
  .object({
    id: z.string(),
    type: z.enum(EVENT_TYPES),
    created_at: z.string(),
    data: z.record(z.string(), z.unknown()).meta({ description: "What happened; the shape depends on the type." }),
  })
  .meta({ id: "Event" });

export const EventList = listOf(Event).extend({
  resume_cursor: z
    .string()
    .nullable()
    .optional()
    .meta({ description: "Cursor mode: poll with it to get only events newer than this page (set on the last page too)." }),
});
