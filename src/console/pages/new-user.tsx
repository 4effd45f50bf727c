import type { Problem } from "../api";
import type { Caller } from "../caller";
import { Alert, Crumbs, Field, fieldError } from "../components";
import { Layout } from "../layout";
import { mayGrant } from "../permissions-ui";

export interface NewUserDraft {
  email: string;
  username: string;
  first_name: string;
  last_name: string;
  roles: string[];
  temporary: boolean;
}

export const EMPTY_NEW_USER: NewUserDraft = { email: "", username: "", first_name: "", last_name: "", roles: ["member"], temporary: true };

/** `/console/users/new`: a user with a temporary password they change at first sign-in. */
export function NewUserPage({ caller, draft, problem, idempotencyKey }: { caller: Caller; draft: NewUserDraft; problem?: Problem | null; idempotencyKey: string }) {
  return (
    <Layout title="New user" caller={caller} section="users">
      <Crumbs href="/console/users" section="Users">
        New user
      </Crumbs>
      <h1>New user</h1>
      <Alert problem={problem} />
      <form method="post" action="/console/users/new" class="card">
        <input type="hidden" name="idempotency_key" value={idempotencyKey} />
        <div class="grid">
          <div>
            <Field label="Email" name="email" type="email" value={draft.email} autocomplete="off" error={fieldError(problem, "email")} />
            <Field label="Username" name="username" value={draft.username} autocomplete="off" error={fieldError(problem, "username")} />
            <Field label="First name" name="first_name" value={draft.first_name} autocomplete="off" error={fieldError(problem, "first_name")} />
            <Field label="Last name" name="last_name" value={draft.last_name} autocomplete="off" error={fieldError(problem, "last_name")} />
          </div>
          <div>
            <Field
              label="Password"
              name="password"
              type="password"
              autocomplete="new-password"
              hint="8 to 256 characters. Leave empty for a user who cannot sign in with a password."
              error={fieldError(problem, "password")}
            />
            <div class="field checks">
              <label>
                <input type="checkbox" name="temporary_password" value="true" checked={draft.temporary} />
                Temporary: must be changed at the first sign-in
              </label>
            </div>
            {caller.roles ? (
              <fieldset class="checks">
                <legend>Roles</legend>
                {caller.roles.filter((r) => mayGrant(caller, r)).map((role) => (
                  <label>
                    <input type="checkbox" name="roles" value={role.name} checked={draft.roles.includes(role.name)} />
                    {role.name}
                  </label>
                ))}
              </fieldset>
            ) : null}
          </div>
        </div>
        <button type="submit" class="primary">
          Create user
        </button>
      </form>
    </Layout>
  );
}
