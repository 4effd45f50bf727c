import { Hono } from "hono";
import { html } from "hono/html";
import { executionContext, problemOf, query } from "./api";
import { formOf, text, type ConsoleContext, type ConsoleEnv } from "./context";
import { DeleteConfirmPage, DeleteDone, DeleteFailed, DeleteProgressPage, PROGRESS_MARK } from "./pages/delete";
import type { CursorList, User } from "./types";
import { notFound } from "./user-routes";

/** "Delete user": a confirmation page, then a page that shows progress until the delete is done. */
export const deleteRoutes = new Hono<ConsoleEnv>();

const userPath = (id: string) => `/v1/users/${encodeURIComponent(id)}`;

/** The user, their ETag and how many users they manage (page mode: the API counts). */
async function loadTarget(c: ConsoleContext, id: string) {
  const [user, managed] = await Promise.all([
    c.get("api").get<User>(userPath(id)),
    c.get("api").get<CursorList<User>>(`/v1/users${query({ manager_id: id, page: 1, page_size: 1 })}`),
  ]);
  return { user, managedCount: managed.ok ? (managed.body.total ?? 0) : 0 };
}

deleteRoutes.get("/:id/delete", async (c) => {
  const { user, managedCount } = await loadTarget(c, c.req.param("id"));
  if (!user.ok) return notFound(c, user);
  return c.html(<DeleteConfirmPage caller={c.get("caller")} user={user.body} etag={user.headers.get("ETag") ?? ""} managedCount={managedCount} />);
});

/**
 * The page's head (with a progress bar) is streamed before the DELETE is sent; when the API
 * answers, the outcome follows in the same page: a delete of a manager with thousands of managed
 * users shows progress until it is done, with or without JavaScript.
 */
deleteRoutes.post("/:id/delete", async (c) => {
  const id = c.req.param("id");
  const etag = text(await formOf(c), "etag");
  const { user, managedCount } = await loadTarget(c, id);
  if (!user.ok) return notFound(c, user);
  const page = String(await (<DeleteProgressPage caller={c.get("caller")} user={user.body} managedCount={managedCount} />).toString());
  const [head, tail] = page.split(PROGRESS_MARK) as [string, string];
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const work = (async () => {
    try {
      await writer.write(encoder.encode(head));
      const answer = await c.get("api").call("DELETE", userPath(id), { headers: etag ? { "If-Match": etag } : {} });
      // The list that follows reads at least this delete's state (the bookmark rides in the URL:
      // this page's cookies went out before the delete was sent).
      const after = answer.headers.get("X-Userplane-Bookmark");
      const next = `/console/users?notice=deleted${after ? `&after=${encodeURIComponent(after)}` : ""}`;
      const outcome = answer.ok
        ? html`${<DeleteDone userName={user.body.display_name} href={next} />}<meta http-equiv="refresh" content="${`1;url=${next}`}" />`
        : <DeleteFailed problem={problemOf(answer)} base={`/console/users/${id}`} />;
      await writer.write(encoder.encode(String(await outcome) + tail));
    } catch (error) {
      console.error(JSON.stringify({ console: "delete", error: String(error) }));
      await writer.write(encoder.encode(`<p role="alert">The delete did not finish here; open the user again to see where it stands.</p>${tail}`)).catch(() => {});
    } finally {
      await writer.close().catch(() => {});
    }
  })();
  // Without an execution context (app.request in tests) the stream's reader drives the work.
  executionContext(c)?.waitUntil(work);
  return c.body(readable, 200, { "Content-Type": "text/html; charset=UTF-8" });
});
