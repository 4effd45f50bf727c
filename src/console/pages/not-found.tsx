import type { Problem } from "../api";
import type { Caller } from "../caller";
import { Alert } from "../components";
import { Layout, type Section } from "../layout";

/** An API refusal to show something at all (404, 403): its detail, and a way back. */
export function MissingPage({ caller, problem, section = "users", back = "/console/users" }: { caller: Caller; problem: Problem; section?: Section; back?: string }) {
  return (
    <Layout title={problem.title} caller={caller} section={section}>
      <h1>{problem.title}</h1>
      <Alert problem={problem} />
      <a href={back}>Back</a>
    </Layout>
  );
}
