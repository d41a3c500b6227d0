import { useCallback, useEffect, useState } from 'react';
import { errorMessage, members, type Member } from '../api';
import { ROLES, userNameProblem, type Role } from '../model/roles';
import { formatTime } from '../model/util';
import { useToast } from '../ui/toast';

interface Props {
  slug: string;
  // canManage: the user is an admin of the project (add, change, remove).
  canManage: boolean;
  self: string;
  // onChanged: a membership changed (the user's own role may have).
  onChanged: () => void;
}

const ROLE_HELP: Record<Role, string> = {
  viewer: 'reads the schema, status and history',
  editor: 'also saves the schema',
  deployer: 'also plans, deploys and rolls back',
  admin: 'also destroys, manages members and the project',
};

// MembersPanel lists who has which role in the project; its admins add a
// member by sign-in name, change roles and remove members.
export function MembersPanel({ slug, canManage, self, onChanged }: Props) {
  const toast = useToast();
  const [list, setList] = useState<Member[] | null>(null);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [addError, setAddError] = useState('');
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);

  const load = useCallback(() => {
    members
      .list(slug)
      .then((m) => {
        setList([...m].sort((a, b) => a.user_name.localeCompare(b.user_name)));
        setError('');
      })
      .catch((e) => setError(errorMessage(e)));
  }, [slug]);
  useEffect(load, [load]);

  async function add(e: React.FormEvent) {
    e.preventDefault();
    const p = userNameProblem(name);
    if (p) {
      setAddError(p);
      return;
    }
    setBusy(true);
    setAddError('');
    try {
      const m = await members.set(slug, name, role);
      toast(`${m.user_name} is now ${m.role} in ${slug}`, 'success');
      setName('');
      load();
      onChanged();
    } catch (err) {
      setAddError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function change(m: Member, r: Role) {
    try {
      await members.set(slug, m.user_name, r);
      toast(`${m.user_name} is now ${r}`, 'success');
      load();
      onChanged();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  }

  async function remove(m: Member) {
    try {
      await members.remove(slug, m.user_name);
      toast(`Removed ${m.user_name} from ${slug}`, 'success');
      setRemoving(null);
      load();
      onChanged();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  }

  return (
    <div className="inspector-body" data-testid="members-panel">
      <div className="row">
        <div className="insp-title">Members</div>
        <div className="spacer" />
        <button className="btn btn-small" data-testid="members-refresh" onClick={load}>
          Refresh
        </button>
      </div>
      {error && <div className="banner banner-error">{error}</div>}
      {list === null && !error && <div className="muted small">Loading…</div>}
      {list && list.length === 0 && <div className="empty small">No members yet: only server admins can open {slug}.</div>}
      {list && list.length > 0 && (
        <ul className="member-list" data-testid="member-list">
          {list.map((m) => (
            <li key={m.user_id} className="member" data-testid={`member-${m.user_name}`} data-role={m.role}>
              <span className="avatar small" aria-hidden="true">
                {m.user_name.slice(0, 1).toUpperCase()}
              </span>
              <div className="member-who">
                <span className="strong">
                  {m.user_name}
                  {m.user_name === self && <span className="tag you">you</span>}
                </span>
                {m.added_at && <span className="muted small">added {formatTime(m.added_at)}</span>}
              </div>
              {canManage ? (
                removing === m.user_name ? (
                  <div className="row nowrap">
                    <button className="btn btn-small btn-danger" data-testid={`member-remove-confirm-${m.user_name}`} onClick={() => void remove(m)}>
                      Remove
                    </button>
                    <button className="btn btn-small" onClick={() => setRemoving(null)}>
                      Keep
                    </button>
                  </div>
                ) : (
                  <div className="row nowrap">
                    <select
                      className="inline-select"
                      data-testid={`member-role-${m.user_name}`}
                      value={m.role}
                      aria-label={`Role of ${m.user_name}`}
                      onChange={(e) => void change(m, e.target.value as Role)}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                    <button className="icon-btn small" data-testid={`member-remove-${m.user_name}`} aria-label={`Remove ${m.user_name}`} title={`Remove ${m.user_name}`} onClick={() => setRemoving(m.user_name)}>
                      ×
                    </button>
                  </div>
                )
              ) : (
                <span className={`badge role-badge role-${m.role}`} data-testid={`member-role-${m.user_name}`}>
                  {m.role}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {canManage ? (
        <form className="insp-group member-add" onSubmit={add} noValidate data-testid="member-add-form">
          <h4>Add a member</h4>
          <div className="settings-row">
            <input data-testid="member-add-name" value={name} placeholder="user name" aria-label="User name" autoCapitalize="none" spellCheck={false} onChange={(e) => setName(e.target.value)} />
            <select data-testid="member-add-role" value={role} aria-label="Role" onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
          <span className="field-help">
            {role}: {ROLE_HELP[role]}. Adding someone who is already a member changes their role.
          </span>
          {addError && (
            <span className="field-error" role="alert" data-testid="member-add-error">
              {addError}
            </span>
          )}
          <div className="row">
            <button type="submit" className="btn btn-small btn-primary" data-testid="member-add" disabled={busy}>
              Add member
            </button>
          </div>
        </form>
      ) : (
        <p className="muted small">Only admins of {slug} can change its members.</p>
      )}
      <p className="muted small">Server admins are admin in every project without being listed.</p>
    </div>
  );
}
