import { Hono } from "hono";
import { problemOf, type ApiAnswer, type Problem } from "./api";
import { formOf, noticeOf, redirectAfterWrite, text, type ConsoleContext, type ConsoleEnv } from "./context";
import { MissingPage } from "./pages/not-found";
import { WebhookPage, WebhooksPage, type Delivery, type Webhook } from "./pages/webhooks";
import type { CursorList } from "./types";

/** `/console/webhooks`: built against the contract's /v1/webhooks routes. */
export const webhookPages = new Hono<ConsoleEnv>();

const hookPath = (id: string) => `/v1/webhooks/${encodeURIComponent(id)}`;

async function renderList(c: ConsoleContext, extra: { created?: Webhook; problem?: Problem } = {}, status = 200) {
  const answer = await c.get("api").get<CursorList<Webhook>>("/v1/webhooks?limit=100");
  // A 404 for the list itself: this deployment's API has no webhooks.
  const unavailable = answer.status === 404;
  const problem = extra.problem ?? (answer.ok || unavailable ? null : problemOf(answer));
  return c.html(
    <WebhooksPage caller={c.get("caller")} webhooks={answer.ok ? answer.body.items : null} unavailable={unavailable} created={extra.created} problem={problem} notice={noticeOf(c)} />,
    (answer.ok || unavailable ? status : answer.status) as 200,
  );
}

const eventsOf = (form: Record<string, string | string[]>) => text(form, "events").split(/[\s,]+/).filter(Boolean);

webhookPages.get("/", (c) => renderList(c));

/** The secret is in this answer only: the page is rendered from the POST. */
webhookPages.post("/", async (c) => {
  const form = await formOf(c);
  const events = eventsOf(form);
  const description = text(form, "description");
  const body = { url: text(form, "url"), ...(events.length ? { events } : {}), ...(description ? { description } : {}) };
  const answer = await c.get("api").call<Webhook>("POST", "/v1/webhooks", { body });
  if (!answer.ok) return renderList(c, { problem: problemOf(answer) }, answer.status);
  return renderList(c, { created: answer.body }, 201);
});

async function renderOne(c: ConsoleContext, id: string, extra: { secret?: string; problem?: Problem } = {}, status = 200) {
  const [hook, deliveries] = await Promise.all([
    c.get("api").get<Webhook>(hookPath(id)),
    c.get("api").get<CursorList<Delivery>>(`${hookPath(id)}/deliveries?limit=50`),
  ]);
  if (!hook.ok) return c.html(<MissingPage caller={c.get("caller")} problem={problemOf(hook)} section="webhooks" back="/console/webhooks" />, hook.status as 404);
  return c.html(
    <WebhookPage caller={c.get("caller")} webhook={hook.body} deliveries={deliveries.ok ? deliveries.body.items : []} notice={noticeOf(c)} {...extra} />,
    status as 200,
  );
}

webhookPages.get("/:id", (c) => renderOne(c, c.req.param("id")));

/** Runs one write against the endpoint; a refusal re-renders its page with the API's detail. */
async function act(c: ConsoleContext, answer: ApiAnswer<unknown>, notice: string) {
  const id = c.req.param("id")!;
  if (!answer.ok) return renderOne(c, id, { problem: problemOf(answer) }, answer.status);
  return redirectAfterWrite(c, notice === "webhook-deleted" ? `/console/webhooks?notice=${notice}` : `/console/webhooks/${id}?notice=${notice}`);
}

webhookPages.post("/:id", async (c) => {
  const form = await formOf(c);
  const events = eventsOf(form);
  const body = { url: text(form, "url"), events: events.length ? events : ["*"], description: text(form, "description") || null };
  return act(c, await c.get("api").call("PATCH", hookPath(c.req.param("id")), { body }), "webhook-saved");
});

webhookPages.post("/:id/enabled", async (c) => {
  const enabled = text(await formOf(c), "enabled") === "true";
  return act(c, await c.get("api").call("PATCH", hookPath(c.req.param("id")), { body: { enabled } }), "webhook-saved");
});

webhookPages.post("/:id/test", async (c) => act(c, await c.get("api").call("POST", `${hookPath(c.req.param("id"))}/test`), "webhook-tested"));

webhookPages.post("/:id/delete", async (c) => act(c, await c.get("api").call("DELETE", hookPath(c.req.param("id"))), "webhook-deleted"));

webhookPages.post("/:id/deliveries/:delivery/retry", async (c) => {
  const { id, delivery } = c.req.param();
  return act(c, await c.get("api").call("POST", `${hookPath(id)}/deliveries/${encodeURIComponent(delivery)}/retry`), "retried");
});

/** The new secret is in this answer only. */
webhookPages.post("/:id/rotate-secret", async (c) => {
  const id = c.req.param("id");
  const answer = await c.get("api").call<{ secret: string }>("POST", `${hookPath(id)}/rotate-secret`);
  if (!answer.ok) return renderOne(c, id, { problem: problemOf(answer) }, answer.status);
  return renderOne(c, id, { secret: answer.body.secret });
});
