// A sibling Worker protected by userplane: one middleware line, one permission line per route.
import { Hono } from "hono";
import { requirePermission, userplane, type UserplaneVariables } from "userplane/hono";
import type { UserplaneRpcMethods } from "userplane/rpc";

interface Env {
  USERPLANE: UserplaneRpcMethods;
}

const app = new Hono<{ Bindings: Env; Variables: UserplaneVariables }>();

// userplane's own API on this Worker's origin too (sign-in, users…): the binding's fetch serves it.
for (const path of ["/v1/*", "/.well-known/*", "/openapi.json", "/docs"]) {
  app.all(path, (c) => c.env.USERPLANE.fetch(c.req.raw));
}

// Who is calling (Authorization: Bearer <access token | API key>); a platform key names its tenant.
app.use("*", userplane({ binding: "USERPLANE", tenant: (c) => c.req.header("X-Tenant") }));

app.get("/", (c) => c.json({ service: "consumer-worker", principal: c.var.principal }));

app.get("/tasks", requirePermission("tasks:read"), (c) =>
  c.json({ tasks: [{ id: 1, title: "Ship it" }], tenant_id: c.var.principal!.tenant_id }),
);

app.post("/tasks/admin", requirePermission("tasks:admin"), (c) => c.json({ done: true, by: c.var.principal!.user_id }));

// Act as the caller: userplane answers exactly as GET /v1/users/{id} would answer them.
app.get("/people/:id", requirePermission("users:read"), async (c) => {
  const tenant = c.req.header("X-Tenant");
  const user = await c.env.USERPLANE.getUser(c.var.credential!, c.req.param("id"), tenant ? { tenant } : undefined);
  return user ? c.json(user) : c.json({ error: "not found" }, 404);
});

export default app;
