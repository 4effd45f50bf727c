import type { Problem } from "../api";
import type { Caller } from "../caller";
import { ActionButton, Alert, CreateCard, DataTable, Field, fieldError, Notice } from "../components";
import { Layout } from "../layout";
import type { RoleItem } from "../types";
import { holds } from "../../auth/permissions";

export interface RolesPageProps {
  caller: Caller;
  roles: RoleItem[] | null;
  /** The permissions the picker offers: the catalogue and every pair the tenant's roles use. */
  catalogue: string[];
  problem?: Problem | null;
  notice?: string | null;
  draft?: { name: string; description: string; permissions: string[]; other: string };
}

/** Checkboxes for the known permissions (only those the caller holds can be picked) and a free field. */
function PermissionPicker({ caller, catalogue, chosen, idPrefix, other }: { caller: Caller; catalogue: string[]; chosen: string[]; idPrefix: string; other: string }) {
  return (
    <>
      <fieldset class="checks">
        <legend>Permissions</legend>
        {catalogue.map((p) => (
          <label>
            <input type="checkbox" name="permissions" value={p} checked={chosen.includes(p)} disabled={!holds(caller.permissions, p)} />
            <span class="mono">{p}</span>
          </label>
        ))}
      </fieldset>
      <Field
        id={`${idPrefix}-other`}
        label="Other permissions"
        name="other_permissions"
        value={other}
        hint="Comma-separated resource:action pairs of your application, e.g. tasks:admin, chat:use."
      />
    </>
  );
}

/** `/console/roles`: built-in and custom roles, and a form for a new custom role. */
export function RolesPage({ caller, roles, catalogue, problem, notice, draft }: RolesPageProps) {
  const canWrite = caller.can("roles:write");
  return (
    <Layout title="Roles" caller={caller} section="roles">
      <div class="page-head">
        <h1>Roles</h1>
      </div>
      <Notice text={notice} />
      <Alert problem={problem} />
      {roles ? (
        <DataTable label="Roles" columns={["Role", "Description", "Permissions", ...(canWrite ? ["Change"] : [])]}>
          {roles.map((role) => (
            <tr>
              <td class="nowrap">
                <strong>{role.name}</strong> {role.is_builtin ? <span class="badge">built-in</span> : null}
              </td>
              <td>{role.description ?? ""}</td>
              <td>
                {role.permissions.length ? role.permissions.map((p) => <span class="badge mono">{p}</span>) : <span class="muted">none</span>}
              </td>
              {canWrite ? (
                <td>
                  {role.is_builtin ? (
                    <span class="muted">fixed</span>
                  ) : (
                    <details>
                      <summary>{`Edit ${role.name}`}</summary>
                      <form method="post" action={`/console/roles/${encodeURIComponent(role.name)}`}>
                        <Field id={`d-${role.name}`} label="Description" name="description" value={role.description ?? ""} />
                        <PermissionPicker
                          caller={caller}
                          catalogue={catalogue}
                          chosen={role.permissions}
                          idPrefix={`r-${role.name}`}
                          other={role.permissions.filter((p) => !catalogue.includes(p)).join(", ")}
                        />
                        <button type="submit" class="primary">
                          Save role
                        </button>
                      </form>
                      <ActionButton action={`/console/roles/${encodeURIComponent(role.name)}/delete`} label={`Delete role ${role.name}`} danger />
                    </details>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </DataTable>
      ) : null}
      {canWrite ? (
        <CreateCard id="new-role-h" title="New role" action="/console/roles">
          <Field label="Name" name="name" value={draft?.name ?? ""} required hint="1–64 characters of A–Z, a–z, 0–9, . _ : -, e.g. TASK-ADMIN." error={fieldError(problem, "name")} />
          <Field id="new-description" label="Description" name="description" value={draft?.description ?? ""} />
          <PermissionPicker caller={caller} catalogue={catalogue} chosen={draft?.permissions ?? []} idPrefix="new" other={draft?.other ?? ""} />
          <button type="submit" class="primary">
            Create role
          </button>
        </CreateCard>
      ) : null}
    </Layout>
  );
}
