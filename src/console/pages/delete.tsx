import { raw } from "hono/html";
import type { Problem } from "../api";
import type { Caller } from "../caller";
import { Alert } from "../components";
import { Layout } from "../layout";
import type { User } from "../types";

/** The confirmation step of "Delete user": works without JavaScript. */
export function DeleteConfirmPage({ caller, user, etag, managedCount, problem }: { caller: Caller; user: User; etag: string; managedCount: number; problem?: Problem | null }) {
  const base = `/console/users/${user.id}`;
  return (
    <Layout title={`Delete ${user.display_name}`} caller={caller} section="users">
      <p class="muted crumbs">
        <a href="/console/users">Users</a> / <a href={base}>{user.display_name}</a> / Delete
      </p>
      <h1>{`Delete ${user.display_name}?`}</h1>
      <Alert problem={problem} />
      <div class="card">
        <p>
          This deletes the user and everything only they own: sessions, API keys, reset tokens, role grants and shares
          {managedCount > 0 ? `, and the ${managedCount.toLocaleString("en-US")} ${managedCount === 1 ? "user" : "users"} they manage (with all of theirs)` : ""}. It cannot be undone.
        </p>
        <form method="post" action={`${base}/delete`} class="inline" data-busy={`Deleting ${user.display_name}${managedCount ? ` and ${managedCount} managed users` : ""}…`}>
          <input type="hidden" name="etag" value={etag} />
          <button type="submit" class="danger solid">
            Delete
          </button>
          <a href={base}>Cancel</a>
        </form>
      </div>
    </Layout>
  );
}

/** Where the outcome of a delete goes in the streamed page. */
export const PROGRESS_MARK = "<!--progress-->";

/** The progress page of a delete, streamed: its head goes out before the work starts. */
export function DeleteProgressPage({ caller, user, managedCount }: { caller: Caller; user: User; managedCount: number }) {
  return (
    <Layout title={`Deleting ${user.display_name}`} caller={caller} section="users">
      <h1>{`Deleting ${user.display_name}`}</h1>
      <div class="card">
        <p role="status">
          {managedCount > 0
            ? `Deleting the user and the ${managedCount.toLocaleString("en-US")} users they manage. This page finishes when all of it is gone.`
            : "Deleting the user. This page finishes when it is gone."}
        </p>
        <progress aria-label="Deleting"></progress>
        {raw(PROGRESS_MARK)}
      </div>
    </Layout>
  );
}

export const DeleteDone = ({ userName, href }: { userName: string; href: string }) => (
  <div class="notice" role="status">
    {`${userName} was deleted. `}
    <a href={href}>Back to users</a>
  </div>
);

export const DeleteFailed = ({ problem, base }: { problem: Problem; base: string }) => (
  <>
    <Alert problem={problem} />
    <a href={base}>Back to the user</a>
  </>
);
