import { Hono } from "hono";
import { problemOf, query } from "./api";
import type { ConsoleEnv } from "./context";
import { noticeOf } from "./context";
import { DEFAULT_SORT, UsersPage, type UsersQuery } from "./pages/users";
import type { CursorList, User } from "./types";

/** `/console/users`: the table. */
export const userPages = new Hono<ConsoleEnv>();

export const PAGE_SIZE = 25;

const SORTS = /^-?(first_name|last_name|email|username|is_active|created_at)$/;

function usersQuery(raw: Record<string, string>): UsersQuery {
  const status = raw.status === "active" || raw.status === "inactive" ? raw.status : "";
  return {
    search: (raw.search ?? "").trim(),
    status,
    role: (raw.role ?? "").trim(),
    sort: SORTS.test(raw.sort ?? "") ? raw.sort! : DEFAULT_SORT,
  };
}

/**
 * One cursor list call for the rows and one page-mode call with page_size=1 for the total (the
 * same filters; the API counts them), sent together.
 */
userPages.get("/", async (c) => {
  const q = usersQuery(c.req.query());
  const filters = { search: q.search, role: q.role, is_active: q.status === "" ? undefined : String(q.status === "active") };
  const api = c.get("api");
  const [list, count] = await Promise.all([
    api.get<CursorList<User>>(`/v1/users${query({ ...filters, sort: q.sort, limit: PAGE_SIZE, cursor: c.req.query("cursor") })}`),
    api.get<CursorList<User>>(`/v1/users${query({ ...filters, page: 1, page_size: 1 })}`),
  ]);
  return c.html(
    <UsersPage
      caller={c.get("caller")}
      query={q}
      users={list.ok ? list.body.items : []}
      total={count.ok ? (count.body.total ?? null) : null}
      nextCursor={list.ok ? (list.body.next_cursor ?? null) : null}
      previousCursor={list.ok ? (list.body.previous_cursor ?? null) : null}
      problem={list.ok ? null : problemOf(list)}
      notice={noticeOf(c)}
    />,
    list.ok ? 200 : (list.status as 422),
  );
});
