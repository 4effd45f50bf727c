import type { Child } from "hono/jsx";
import type { Problem } from "./api";

/** The API's problem `detail`, announced (role="alert"); field errors listed beside it. */
export function Alert({ problem }: { problem?: Problem | string | null }) {
  if (!problem) return null;
  const detail = typeof problem === "string" ? problem : problem.detail;
  const errors = typeof problem === "string" ? [] : (problem.errors ?? []);
  return (
    <div class="alert">
      <div role="alert">{detail}</div>
      {errors.length ? (
        <ul>
          {errors.map((e) => (
            <li>
              <strong>{e.path || "body"}</strong>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Notice({ text }: { text?: string | null }) {
  return text ? (
    <div class="notice" role="status">
      {text}
    </div>
  ) : null;
}

/** A labelled text input; `error` is a message for this field (from the problem's `errors`). */
export function Field(props: {
  label: string;
  name: string;
  value?: string | null;
  type?: string;
  autocomplete?: string;
  required?: boolean;
  readonly?: boolean;
  hint?: string;
  error?: string;
  id?: string;
  inputmode?: "email" | "text" | "search" | "url";
}) {
  const id = props.id ?? `f-${props.name}`;
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value ?? ""}
        autocomplete={props.autocomplete}
        required={props.required}
        readonly={props.readonly}
        inputmode={props.inputmode}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {props.hint ? (
        <div class="hint" id={`${id}-hint`}>
          {props.hint}
        </div>
      ) : null}
      {props.error ? (
        <div class="error-text" id={`${id}-error`}>
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

/** A secret shown once, with a copy button (the script reveals it; without JS, select and copy). */
export function Secret({ id, label, value }: { id: string; label: string; value: string }) {
  return (
    <div class="notice" role="status">
      <strong>{label}</strong> It is shown only this once: copy it now.
      <div class="secret">
        <code id={id}>{value}</code>
        <button type="button" data-copy={id} hidden>
          Copy
        </button>
      </div>
    </div>
  );
}

/** A one-button form posting to `action` (the console's POST + redirect pattern). */
export function ActionButton(props: {
  action: string;
  label: string;
  fields?: Record<string, string>;
  danger?: boolean;
  busy?: string;
  children?: Child;
}) {
  return (
    <form method="post" action={props.action} data-busy={props.busy}>
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.danger ? "danger" : undefined}>
        {props.label}
      </button>
      {props.children}
    </form>
  );
}

export const fieldError = (problem: Problem | undefined | null, path: string) =>
  problem?.errors?.find((e) => e.path === path)?.message;

/** `2026-03-04 10:22` in UTC, inside a <time> with the full instant. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  return (
    <time datetime={at} title={at}>
      {at.slice(0, 16).replace("T", " ")}
    </time>
  );
}

/** A dense table in a keyboard-scrollable region; `head` replaces plain column names (sortable headers). */
export function DataTable({ label, columns, head, children }: { label: string; columns?: string[]; head?: Child; children?: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabindex={0}>
      <table>
        <thead>
          <tr>{head ?? (columns ?? []).map((name) => <th scope="col">{name}</th>)}</tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export const EmptyRow = ({ colspan, text }: { colspan: number; text: string }) => (
  <tr>
    <td colspan={colspan} class="muted">
      {text}
    </td>
  </tr>
);

/** "Section / Page" above a page's heading. */
export const Crumbs = ({ href, section, children }: { href: string; section: string; children?: Child }) => (
  <p class="muted crumbs">
    <a href={href}>{section}</a> / {children}
  </p>
);

/** The head of a detail page: the crumbs back to its section, its title and the badges after it. */
export const DetailHead = ({ href, section, title, children }: { href: string; section: string; title: string; children?: Child }) => (
  <>
    <Crumbs href={href} section={section}>
      {title}
    </Crumbs>
    <div class="page-head">
      <h1>{title}</h1>
      {children}
    </div>
  </>
);

/** The card under a list that creates one more of its items: a heading and a form posted to `action`. */
export const CreateCard = ({ id, title, action, children }: { id: string; title: string; action: string; children?: Child }) => (
  <section class="card" aria-labelledby={id}>
    <h2 id={id}>{title}</h2>
    <form method="post" action={action}>
      {children}
    </form>
  </section>
);

/** A green or red state badge ("Active" / "Inactive", "Enabled" / "Disabled"). */
export const StateBadge = ({ on, yes, no }: { on: boolean; yes: string; no: string }) =>
  on ? <span class="badge ok">{yes}</span> : <span class="badge off">{no}</span>;
