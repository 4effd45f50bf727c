import type { Problem } from "../api";
import { Alert, Field, Notice } from "../components";
import { Layout } from "../layout";

export interface SignInProps {
  tenant: string;
  email: string;
  next: string;
  problem?: Problem;
  notice?: string | null;
}

/** `/console/sign-in`: tenant (id or slug), email and password. */
export function SignInPage({ tenant, email, next, problem, notice }: SignInProps) {
  return (
    <Layout title="Sign in">
      <div class="sign-in">
        <span class="brand">userplane console</span>
        <div class="card">
          <h1>Sign in</h1>
          <Notice text={notice} />
          <Alert problem={problem} />
          <form method="post" action="/console/sign-in">
            <input type="hidden" name="next" value={next} />
            <Field label="Tenant" name="tenant" value={tenant} required autocomplete="organization" hint="The tenant's id or slug." />
            <Field label="Email" name="email" value={email} required autocomplete="username" inputmode="email" />
            <Field label="Password" name="password" type="password" required autocomplete="current-password" />
            <button type="submit" class="primary">
              Sign in
            </button>
          </form>
        </div>
      </div>
    </Layout>
  );
}
