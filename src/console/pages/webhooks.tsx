import type { Problem } from "../api";
import type { Caller } from "../caller";
import { ActionButton, Alert, CreateCard, DataTable, DetailHead, EmptyRow, Field, fieldError, Notice, Secret, StateBadge, When } from "../components";
import { Layout } from "../layout";

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  created_at: string;
  secret?: string;
}

export interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  status: "pending" | "succeeded" | "failed";
  attempts: { at: string; status_code: number | null; error: string | null; duration_ms: number | null }[];
  next_attempt_at: string | null;
}

const EventsHint = "Comma-separated event types, e.g. user.created, user.deleted. Empty: every type.";

/** `/console/webhooks`: the endpoints and a form for a new one (its secret shown once). */
export function WebhooksPage(props: { caller: Caller; webhooks: Webhook[] | null; unavailable?: boolean; created?: Webhook | null; problem?: Problem | null; notice?: string | null }) {
  const { caller } = props;
  const canWrite = caller.can("webhooks:write");
  return (
    <Layout title="Webhooks" caller={caller} section="webhooks">
      <div class="page-head">
        <h1>Webhooks</h1>
      </div>
      <Notice text={props.notice} />
      {props.unavailable ? (
        <div class="notice" role="status">
          Webhooks are not available on this deployment yet: the API has no /v1/webhooks routes.
        </div>
      ) : (
        <Alert problem={props.problem} />
      )}
      {props.created?.secret ? <Secret id="webhook-secret" label={`Signing secret of ${props.created.url}.`} value={props.created.secret} /> : null}
      {props.webhooks ? (
        <DataTable label="Webhook endpoints" columns={["URL", "Events", "Status", "Created"]}>
          {props.webhooks.length === 0 ? <EmptyRow colspan={4} text="No endpoints yet." /> : null}
          {props.webhooks.map((w) => (
            <tr>
              <td>
                <a href={`/console/webhooks/${w.id}`}>{w.url}</a>
                {w.description ? <div class="muted">{w.description}</div> : null}
              </td>
              <td>
                {w.events.map((e) => (
                  <span class="badge">{e}</span>
                ))}
              </td>
              <td>
                <StateBadge on={w.enabled} yes="Enabled" no="Disabled" />
              </td>
              <td>
                <When at={w.created_at} />
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      {canWrite && !props.unavailable ? (
        <CreateCard id="new-webhook-h" title="New endpoint" action="/console/webhooks">
          <Field label="URL" name="url" type="url" required error={fieldError(props.problem, "url")} />
          <Field label="Events" name="events" hint={EventsHint} error={fieldError(props.problem, "events")} />
          <Field label="Description" name="description" />
          <button type="submit" class="primary">
            Create endpoint
          </button>
        </CreateCard>
      ) : null}
    </Layout>
  );
}

/** `/console/webhooks/{id}`: the endpoint, its actions and its deliveries (with retry). */
export function WebhookPage(props: { caller: Caller; webhook: Webhook; deliveries: Delivery[]; secret?: string | null; problem?: Problem | null; notice?: string | null }) {
  const { caller, webhook } = props;
  const base = `/console/webhooks/${webhook.id}`;
  const canWrite = caller.can("webhooks:write");
  return (
    <Layout title={webhook.url} caller={caller} section="webhooks">
      <DetailHead href="/console/webhooks" section="Webhooks" title={webhook.url}>
        <StateBadge on={webhook.enabled} yes="Enabled" no="Disabled" />
      </DetailHead>
      <Notice text={props.notice} />
      <Alert problem={props.problem} />
      {props.secret ? <Secret id="webhook-secret" label="New signing secret (the previous one keeps signing for 24 hours)." value={props.secret} /> : null}
      <div class="grid">
        <section class="card" aria-labelledby="endpoint-h">
          <h2 id="endpoint-h">Endpoint</h2>
          <form method="post" action={base}>
            <Field label="URL" name="url" type="url" value={webhook.url} readonly={!canWrite} error={fieldError(props.problem, "url")} />
            <Field label="Events" name="events" value={webhook.events.join(", ")} readonly={!canWrite} hint={EventsHint} />
            <Field label="Description" name="description" value={webhook.description ?? ""} readonly={!canWrite} />
            {canWrite ? (
              <button type="submit" class="primary">
                Save
              </button>
            ) : null}
          </form>
        </section>
        {canWrite ? (
          <section class="card" aria-labelledby="webhook-actions-h">
            <h2 id="webhook-actions-h">Actions</h2>
            <div class="row-actions">
              <ActionButton action={`${base}/enabled`} label={webhook.enabled ? "Disable" : "Enable"} fields={{ enabled: webhook.enabled ? "false" : "true" }} />
              <ActionButton action={`${base}/test`} label="Send test event" />
              <ActionButton action={`${base}/rotate-secret`} label="Rotate secret" />
              <ActionButton action={`${base}/delete`} label="Delete endpoint" danger />
            </div>
          </section>
        ) : null}
      </div>
      <h2>Deliveries</h2>
      <DataTable label="Deliveries" columns={["Event", "Status", "Attempts", "Next attempt", ...(canWrite ? ["Retry"] : [])]}>
        {props.deliveries.length === 0 ? <EmptyRow colspan={5} text="No deliveries yet." /> : null}
        {props.deliveries.map((d) => (
          <tr>
            <td>
              <span class="badge">{d.event_type}</span> <span class="mono muted">{d.event_id}</span>
            </td>
            <td>
              <span class={`badge ${d.status === "succeeded" ? "ok" : d.status === "failed" ? "off" : ""}`}>{d.status}</span>
            </td>
            <td>
              {d.attempts.map((a) => (
                <div>
                  <When at={a.at} /> {a.status_code ?? a.error ?? ""} {a.duration_ms !== null ? <span class="muted">{`${a.duration_ms} ms`}</span> : null}
                </div>
              ))}
            </td>
            <td>
              <When at={d.next_attempt_at} />
            </td>
            {canWrite ? (
              <td>{d.status === "pending" ? <span class="muted">pending</span> : <ActionButton action={`${base}/deliveries/${d.id}/retry`} label="Retry" />}</td>
            ) : null}
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}
