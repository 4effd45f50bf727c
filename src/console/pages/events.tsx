import type { Problem } from "../api";
import type { Caller } from "../caller";
import { Alert, DataTable, EmptyRow, When } from "../components";
import { Layout } from "../layout";
import type { EventItem } from "../types";

export interface EventsPageProps {
  caller: Caller;
  types: readonly string[];
  type: string;
  events: EventItem[] | null;
  page: number;
  pages: number;
  total: number;
  problem?: Problem | null;
}

/** `/console/events`: the feed, newest first, filtered by type. */
export function EventsPage({ caller, types, type, events, page, pages, total, problem }: EventsPageProps) {
  return (
    <Layout title="Events" caller={caller} section="events">
      <div class="page-head">
        <h1>Events</h1>
        {events ? <span class="count">{`${total.toLocaleString("en-US")} events`}</span> : null}
      </div>
      <Alert problem={problem} />
      <form class="filters" method="get" action="/console/events">
        <div class="field">
          <label for="type">Type</label>
          <select id="type" name="type">
            <option value="">Any</option>
            {types.map((t) => (
              <option value={t} selected={t === type}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      {events ? (
        <>
          <DataTable label="Events" columns={["Time", "Type", "Data"]}>
            {events.length === 0 ? <EmptyRow colspan={3} text="No events." /> : null}
            {events.map((e) => (
              <tr>
                <td class="nowrap">
                  <When at={e.created_at} />
                </td>
                <td>
                  <span class="badge">{e.type}</span>
                </td>
                <td>
                  <EventData data={e.data} />
                </td>
              </tr>
            ))}
          </DataTable>
          <form class="pager" method="get" action="/console/events">
            <span class="muted">{`Page ${page} of ${pages}`}</span>
            <span class="row-actions">
              {type ? <input type="hidden" name="type" value={type} /> : null}
              <button type="submit" name="page" value={String(page - 1)} disabled={page <= 1}>
                Newer
              </button>
              <button type="submit" name="page" value={String(page + 1)} disabled={page >= pages}>
                Older
              </button>
            </span>
          </form>
        </>
      ) : null}
    </Layout>
  );
}

/** Links the users an event names; the token of a reset request is not shown here. */
function EventData({ data }: { data: Record<string, unknown> }) {
  const { reset_token: _secret, ...shown } = data;
  const userId = typeof data.user_id === "string" ? data.user_id : null;
  return (
    <>
      {userId ? (
        <a href={`/console/users/${userId}`} class="mono">
          {userId}
        </a>
      ) : null}
      <pre class="data">{JSON.stringify(shown)}</pre>
    </>
  );
}
