import { z } from "zod";
import { listOf, listQuery } from "../lib/pagination";

export const Session = z
  .object({
    id: z.string(),
    created_at: z.string(),
    last_used_at: z.string().meta({ description: "Sign-in or last refresh." }),
    expires_at: z.string().meta({ description: "When its refresh token stops working unless refreshed before." }),
    ip: z.string().nullable().meta({ description: "CF-Connecting-IP at sign-in." }),
    user_agent: z.string().nullable(),
    current: z.boolean().meta({ description: "The session of the access token making this request." }),
  })
  .meta({ id: "Session" });

export const SessionList = listOf(Session);

export const ListSessionsQuery = listQuery({
  tenant: z.string().optional().meta({ description: "Platform keys: the tenant to act in (as X-Tenant)." }),
});

export const SessionParams = z.object({
  id: z.string().min(1).max(64),
  sid: z.string().min(1).max(64),
});
