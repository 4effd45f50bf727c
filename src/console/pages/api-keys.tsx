import type { Problem } from "../api";
import type { Caller } from "../caller";
import { ActionButton, Alert, CreateCard, DataTable, EmptyRow, Field, fieldError, Notice, Secret, When } from "../components";
import { Layout } from "../layout";
import { mayGrant } from "../permissions-ui";
import type { ApiKeyItem, NewApiKey } from "../types";

export interface ApiKeysPageProps {
  caller: Caller;
  keys: ApiKeyItem[] | null;
  created?: NewApiKey | null;
  problem?: Problem | null;
  notice?: string | null;
}

/** `/console/api-keys`: the tenant's keys, a new key (shown once) and revoking. */
export function ApiKeysPage({ caller, keys, created, problem, notice }: ApiKeysPageProps) {
  const canWrite = caller.can("api_keys:write");
  return (
    <Layout title="API keys" caller={caller} section="api-keys">
      <div class="page-head">
        <h1>API keys</h1>
      </div>
      <Notice text={notice} />
      <Alert problem={problem} />
      {created?.key ? <Secret id="new-key" label={`API key "${created.name}" created.`} value={created.key} /> : null}
      {keys ? (
        <DataTable label="API keys" columns={["Name", "Key", "Roles", "Created", "Expires", ...(canWrite ? ["Revoke"] : [])]}>
          {keys.length === 0 ? <EmptyRow colspan={6} text="No API keys yet." /> : null}
          {keys.map((k) => (
            <tr>
              <td>{k.name}</td>
              <td class="mono">{`${k.prefix}…`}</td>
              <td>
                {k.roles.map((r) => (
                  <span class="badge">{r}</span>
                ))}
              </td>
              <td>
                <When at={k.created_at} />
              </td>
              <td>{k.expires_at ? <When at={k.expires_at} /> : <span class="muted">never</span>}</td>
              {canWrite ? (
                <td>
                  <ActionButton action={`/console/api-keys/${k.id}/revoke`} label={`Revoke ${k.name}`} danger />
                </td>
              ) : null}
            </tr>
          ))}
        </DataTable>
      ) : null}
      {canWrite ? (
        <CreateCard id="new-key-h" title="New API key" action="/console/api-keys">
          <Field label="Name" name="name" required error={fieldError(problem, "name")} />
          {caller.roles ? (
            <fieldset class="checks">
              <legend>Roles</legend>
              {caller.roles.filter((r) => mayGrant(caller, r)).map((role) => (
                <label>
                  <input type="checkbox" name="roles" value={role.name} />
                  {role.name}
                </label>
              ))}
            </fieldset>
          ) : null}
          <Field label="Expires" name="expires" type="date" hint="Optional: the key stops working at the start of this day (UTC)." error={fieldError(problem, "expires_at")} />
          <button type="submit" class="primary">
            Create API key
          </button>
        </CreateCard>
      ) : null}
    </Layout>
  );
}
