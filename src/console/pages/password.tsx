import type { Problem } from "../api";
import { Alert, Field, fieldError } from "../components";
import { SignOut } from "../layout";
import { Layout } from "../layout";

/** The forced change of a temporary password, before anything else. */
export function PasswordPage({ problem }: { problem?: Problem }) {
  return (
    <Layout title="Change your password">
      <div class="sign-in">
        <span class="brand">userplane console</span>
        <div class="card">
          <h1>Change your password</h1>
          <p class="muted">You signed in with a temporary password. Choose your own before you continue.</p>
          <Alert problem={problem} />
          <form method="post" action="/console/password">
            <Field label="Current password" name="current_password" type="password" required autocomplete="current-password" error={fieldError(problem, "current_password")} />
            <Field
              label="New password"
              name="new_password"
              type="password"
              required
              autocomplete="new-password"
              hint="8 to 256 characters."
              error={fieldError(problem, "new_password")}
            />
            <button type="submit" class="primary">
              Change password
            </button>
          </form>
        </div>
        <SignOut />
      </div>
    </Layout>
  );
}
