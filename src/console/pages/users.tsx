import type { Problem } from "../api";
import type { Caller } from "../caller";
import { Alert, DataTable, EmptyRow, Notice, StateBadge, When } from "../components";
import { Layout } from "../layout";
import type { User } from "../types";

export interface UsersQuery {
  search: string;
  status: "" | "active" | "inactive";
  role: string;
  sort: string;
}

export interface UsersPageProps {
  caller: Caller;
  query: UsersQuery;
  users: User[];
  total: number | null;
  nextCursor: string | null;
  previousCursor: string | null;
  problem?: Problem | null;
  notice?: string | null;
}

/** Column headers and the API sort field each one orders by (Roles has none). */
const COLUMNS: { label: string; sort?: string; narrow?: boolean }[] = [
  { label: "Name", sort: "first_name" },
  { label: "Email", sort: "email" },
  { label: "Username", sort: "username", narrow: true },
  { label: "Roles", narrow: true },
  { label: "Status", sort: "is_active" },
  { label: "Created", sort: "created_at", narrow: true },
];

export const DEFAULT_SORT = "-created_at";

const usersHref = (q: UsersQuery, sort: string) => {
  const params = new URLSearchParams();
  if (q.search) params.set("search", q.search);
  if (q.status) params.set("status", q.status);
  if (q.role) params.set("role", q.role);
  params.set("sort", sort);
  return `/console/users?${params}`;
};

/** The users table: search, filters, sortable headers, cursor paging and the total. */
export function UsersPage(props: UsersPageProps) {
  const { caller, query: q } = props;
  return (
    <Layout title="Users" caller={caller} section="users">
      <div class="page-head">
        <h1>Users</h1>
        {props.total !== null ? <span class="count">{`${props.total.toLocaleString("en-US")} ${props.total === 1 ? "user" : "users"}`}</span> : null}
        {caller.can("users:write") ? (
          <div class="actions">
            <a class="button primary" href="/console/users/new">
              New user
            </a>
          </div>
        ) : null}
      </div>
      <Notice text={props.notice} />
      <Alert problem={props.problem} />
      <Filters caller={caller} q={q} />
      <DataTable label="Users" head={COLUMNS.map((col) => <SortHeader col={col} q={q} />)}>
        {props.users.length === 0 ? <EmptyRow colspan={COLUMNS.length} text="No users match." /> : props.users.map((u) => <UserRow user={u} />)}
      </DataTable>
      <Pager q={q} next={props.nextCursor} previous={props.previousCursor} shown={props.users.length} />
    </Layout>
  );
}

function Filters({ caller, q }: { caller: Caller; q: UsersQuery }) {
  return (
    <form class="filters" method="get" action="/console/users" role="search">
      <div class="field grow">
        <label for="search">Search users</label>
        <input id="search" name="search" type="search" value={q.search} placeholder="Name, email or username" />
      </div>
      <div class="field">
        <label for="status">Status</label>
        <select id="status" name="status">
          <option value="" selected={q.status === ""}>
            Any
          </option>
          <option value="active" selected={q.status === "active"}>
            Active
          </option>
          <option value="inactive" selected={q.status === "inactive"}>
            Inactive
          </option>
        </select>
      </div>
      <div class="field">
        <label for="role">Role</label>
        {caller.roles ? (
          <select id="role" name="role">
            <option value="">Any</option>
            {caller.roles.map((r) => (
              <option value={r.name} selected={q.role === r.name}>
                {r.name}
              </option>
            ))}
          </select>
        ) : (
          <input id="role" name="role" type="text" value={q.role} />
        )}
      </div>
      <input type="hidden" name="sort" value={q.sort} />
      <button type="submit">Search</button>
    </form>
  );
}

function SortHeader({ col, q }: { col: (typeof COLUMNS)[number]; q: UsersQuery }) {
  const cls = col.narrow ? "hide-narrow" : undefined;
  if (!col.sort) {
    return (
      <th scope="col" class={cls}>
        {col.label}
      </th>
    );
  }
  const ascending = q.sort === col.sort;
  const descending = q.sort === `-${col.sort}`;
  const next = ascending ? `-${col.sort}` : col.sort;
  return (
    <th scope="col" class={cls} aria-sort={ascending ? "ascending" : descending ? "descending" : undefined}>
      <a href={usersHref(q, next)}>
        {col.label}
        <span aria-hidden="true">{ascending ? " ▲" : descending ? " ▼" : ""}</span>
      </a>
    </th>
  );
}

function UserRow({ user }: { user: User }) {
  return (
    <tr>
      <td>
        <a href={`/console/users/${user.id}`}>{user.display_name}</a>
        {user.is_managed ? <span class="badge"> managed</span> : null}
      </td>
      <td>{user.email ?? <span class="muted">—</span>}</td>
      <td class="hide-narrow">{user.username ?? <span class="muted">—</span>}</td>
      <td class="hide-narrow">
        {user.roles.map((r) => (
          <span class="badge">{r}</span>
        ))}
      </td>
      <td>
        <StateBadge on={user.is_active} yes="Active" no="Inactive" />
      </td>
      <td class="hide-narrow nowrap">
        <When at={user.created_at} />
      </td>
    </tr>
  );
}

/** Next and Previous are buttons of a GET form that keeps the search, filters and sort. */
function Pager({ q, next, previous, shown }: { q: UsersQuery; next: string | null; previous: string | null; shown: number }) {
  return (
    <div class="pager">
      <span class="muted">{`${shown} on this page`}</span>
      <form method="get" action="/console/users" aria-label="Pages">
        {q.search ? <input type="hidden" name="search" value={q.search} /> : null}
        {q.status ? <input type="hidden" name="status" value={q.status} /> : null}
        {q.role ? <input type="hidden" name="role" value={q.role} /> : null}
        <input type="hidden" name="sort" value={q.sort} />
        <button type="submit" name="cursor" value={previous ?? ""} disabled={!previous}>
          Previous
        </button>
        <button type="submit" name="cursor" value={next ?? ""} disabled={!next}>
          Next
        </button>
      </form>
    </div>
  );
}
