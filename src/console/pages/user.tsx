import type { Problem } from "../api";
import type { Caller } from "../caller";
import { ActionButton, Alert, DetailHead, Field, fieldError, Notice, Secret, StateBadge, When } from "../components";
import { Layout } from "../layout";
import { mayGrant, type UserActions } from "../permissions-ui";
import type { EventItem, SessionItem, User } from "../types";

export interface ProfileDraft {
  first_name: string;
  last_name: string;
  username: string;
  email: string;
  metadata: string;
  roles: string[];
}

export interface Share {
  user_id: string;
  scopes: string[];
}

export interface UserPageProps {
  caller: Caller;
  user: User;
  etag: string;
  actions: UserActions;
  sessions: SessionItem[] | null;
  managed: User[];
  shares: Share[] | null;
  events: EventItem[] | null;
  /** The values to show instead of the stored ones (a refused save keeps what was typed). */
  draft?: ProfileDraft;
  problem?: Problem | null;
  notice?: string | null;
  resetToken?: { token: string; expiresAt: string } | null;
  /** After a 409 for an active token: offer to replace it. */
  offerForcedReset?: boolean;
}

export const draftOf = (u: User): ProfileDraft => ({
  first_name: u.first_name ?? "",
  last_name: u.last_name ?? "",
  username: u.username ?? "",
  email: u.email ?? "",
  metadata: JSON.stringify(u.metadata, null, 2),
  roles: u.roles,
});

/** `/console/users/{id}`: profile, roles, actions, sessions, managed users, shares, events. */
export function UserPage(props: UserPageProps) {
  const { user, actions, caller } = props;
  const base = `/console/users/${user.id}`;
  return (
    <Layout title={user.display_name} caller={caller} section="users">
      <DetailHead href="/console/users" section="Users" title={user.display_name}>
        <StateBadge on={user.is_active} yes="Active" no="Inactive" />
        {user.is_managed ? <span class="badge">Managed</span> : null}
        {actions.self ? <span class="badge">You</span> : null}
      </DetailHead>
      <Notice text={props.notice} />
      <Alert problem={props.problem} />
      {props.resetToken ? (
        <Secret id="reset-token" label={`Reset token (expires ${props.resetToken.expiresAt.slice(0, 16).replace("T", " ")} UTC).`} value={props.resetToken.token} />
      ) : null}
      <div class="grid">
        <ProfileCard {...props} base={base} />
        <div class="stack">
          <ActionsCard {...props} base={base} />
          <DetailsCard user={user} />
        </div>
      </div>
      <div class="grid">
        {props.sessions ? <SessionsCard sessions={props.sessions} base={base} canRevoke={actions.revokeSessions} /> : null}
        <ManagedCard managed={props.managed} />
        {props.shares ? <SharesCard shares={props.shares} /> : null}
        {props.events ? <EventsCard events={props.events} /> : null}
      </div>
    </Layout>
  );
}

function ProfileCard(props: UserPageProps & { base: string }) {
  const { user, actions, caller, problem } = props;
  const draft = props.draft ?? draftOf(user);
  const canSave = actions.editNames || actions.editUsername || actions.editEmail || actions.editRoles;
  const metadataError = fieldError(problem, "metadata");
  return (
    <section class="card" aria-labelledby="profile-h">
      <h2 id="profile-h">Profile</h2>
      <form method="post" action={props.base}>
        <input type="hidden" name="etag" value={props.etag} />
        <Field label="First name" name="first_name" value={draft.first_name} readonly={!actions.editNames} autocomplete="off" error={fieldError(problem, "first_name")} />
        <Field label="Last name" name="last_name" value={draft.last_name} readonly={!actions.editNames} autocomplete="off" error={fieldError(problem, "last_name")} />
        <Field label="Username" name="username" value={draft.username} readonly={!actions.editUsername} autocomplete="off" error={fieldError(problem, "username")} />
        <Field label="Email" name="email" type="email" value={draft.email} readonly={!actions.editEmail} autocomplete="off" error={fieldError(problem, "email")} />
        <div class="field">
          <label for="f-metadata">Metadata</label>
          <textarea
            id="f-metadata"
            name="metadata"
            data-json="metadata-error"
            readonly={!actions.editNames}
            spellcheck={false}
            aria-describedby="metadata-hint metadata-error"
            aria-invalid={metadataError ? "true" : undefined}
          >
            {draft.metadata}
          </textarea>
          <div class="hint" id="metadata-hint">
            A JSON object (at most 16 KiB). Keys you remove are removed.
          </div>
          <div class="error-text" id="metadata-error" aria-live="polite">
            {metadataError ?? ""}
          </div>
        </div>
        <RolesField caller={caller} draft={draft} editable={actions.editRoles} />
        {canSave ? (
          <button type="submit" class="primary">
            Save
          </button>
        ) : null}
      </form>
    </section>
  );
}

function RolesField({ caller, draft, editable }: { caller: Caller; draft: ProfileDraft; editable: boolean }) {
  if (!editable || !caller.roles) {
    return (
      <div class="field">
        <span class="label">Roles</span>{" "}
        {draft.roles.map((r) => (
          <span class="badge">{r}</span>
        ))}
      </div>
    );
  }
  return (
    <fieldset class="checks">
      <legend>Roles</legend>
      <input type="hidden" name="roles_shown" value="1" />
      {caller.roles.map((role) => {
        const granted = mayGrant(caller, role);
        const held = draft.roles.includes(role.name);
        return (
          <label title={granted ? role.description ?? undefined : "You cannot grant or remove a role with permissions you lack."}>
            <input type="checkbox" name="roles" value={role.name} checked={held} disabled={!granted} />
            {role.name}
            {!granted && held ? <input type="hidden" name="roles" value={role.name} /> : null}
          </label>
        );
      })}
    </fieldset>
  );
}

function ActionsCard({ user, actions, base, offerForcedReset }: UserPageProps & { base: string }) {
  return (
    <section class="card" aria-labelledby="actions-h">
      <h2 id="actions-h">Actions</h2>
      <div class="row-actions">
        {actions.setActive ? (
          <ActionButton action={`${base}/status`} label={user.is_active ? "Deactivate" : "Activate"} fields={{ active: user.is_active ? "false" : "true" }} />
        ) : null}
        {actions.issueReset ? (
          <ActionButton action={`${base}/reset-token`} label="Issue reset token" fields={offerForcedReset ? { force: "true" } : {}} />
        ) : null}
        {actions.revokeSessions ? <ActionButton action={`${base}/sessions/revoke`} label="Revoke all sessions" /> : null}
        {actions.delete ? (
          <form method="get" action={`${base}/delete`}>
            <button type="submit" class="danger">
              Delete user
            </button>
          </form>
        ) : null}
      </div>
      {offerForcedReset ? <p class="hint">Issuing again revokes the token that is still active.</p> : null}
      {!actions.setActive && !actions.issueReset && !actions.revokeSessions && !actions.delete ? (
        <p class="muted">You have no actions on this user.</p>
      ) : null}
    </section>
  );
}

function DetailsCard({ user }: { user: User }) {
  return (
    <section class="card" aria-labelledby="details-h">
      <h2 id="details-h">Details</h2>
      <dl class="facts">
        <dt>ID</dt>
        <dd class="mono">{user.id}</dd>
        <dt>External ID</dt>
        <dd class="mono">{user.external_id ?? "—"}</dd>
        <dt>Manager</dt>
        <dd>{user.manager_id ? <a href={`/console/users/${user.manager_id}`}>{user.manager_id}</a> : "—"}</dd>
        <dt>Password</dt>
        <dd>{user.has_password ? (user.password_change_required ? "Temporary (must change)" : "Set") : "None"}</dd>
        <dt>Created</dt>
        <dd>
          <When at={user.created_at} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <When at={user.updated_at} />
        </dd>
        <dt>Last sign-in</dt>
        <dd>
          <When at={user.last_login_at} />
        </dd>
      </dl>
    </section>
  );
}

function SessionsCard({ sessions, base, canRevoke }: { sessions: SessionItem[]; base: string; canRevoke: boolean }) {
  return (
    <section class="card" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      {sessions.length === 0 ? <p class="muted">No active sessions.</p> : null}
      <ul class="plain">
        {sessions.map((s) => (
          <li>
            <span>
              <When at={s.created_at} /> <span class="muted">{s.ip ?? ""}</span>
              {s.current ? <span class="badge">this browser</span> : null}
              <br />
              <span class="muted">{(s.user_agent ?? "unknown client").slice(0, 80)}</span>
            </span>
            {canRevoke ? (
              <span class="row-actions">
                <ActionButton action={`${base}/sessions/${s.id}/revoke`} label="Revoke" />
              </span>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function ManagedCard({ managed }: { managed: User[] }) {
  return (
    <section class="card" aria-labelledby="managed-h">
      <h2 id="managed-h">Managed users</h2>
      {managed.length === 0 ? <p class="muted">None.</p> : null}
      <ul class="plain">
        {managed.map((m) => (
          <li>
            <a href={`/console/users/${m.id}`}>{m.display_name}</a>
          </li>
        ))}
      </ul>
    </section>
  );
}

function SharesCard({ shares }: { shares: Share[] }) {
  return (
    <section class="card" aria-labelledby="shares-h">
      <h2 id="shares-h">Shared with</h2>
      {shares.length === 0 ? <p class="muted">You have not shared access with anyone.</p> : null}
      <ul class="plain">
        {shares.map((s) => (
          <li>
            <a href={`/console/users/${s.user_id}`} class="mono">
              {s.user_id}
            </a>
            {s.scopes.map((scope) => (
              <span class="badge">{scope}</span>
            ))}
          </li>
        ))}
      </ul>
    </section>
  );
}

function EventsCard({ events }: { events: EventItem[] }) {
  return (
    <section class="card" aria-labelledby="events-h">
      <h2 id="events-h">Recent events</h2>
      {events.length === 0 ? <p class="muted">No recent events of this user.</p> : null}
      <ul class="plain">
        {events.map((e) => (
          <li>
            <span class="badge">{e.type}</span> <When at={e.created_at} />
          </li>
        ))}
      </ul>
    </section>
  );
}
