import { useCallback, useEffect, useState } from 'react';
import { errorMessage, users, type Health } from '../api';
import { useAuth } from '../auth';
import { canAdminServer, PASSWORD_MIN, userNameProblem, type User } from '../model/roles';
import { formatTime } from '../model/util';
import type { Theme } from '../theme';
import { AppHeader } from '../ui/AppHeader';
import { CopyField } from '../ui/CopyField';
import { useToast } from '../ui/toast';

interface Props {
  theme: Theme;
  toggleTheme: () => void;
  health: Health | null;
}

// UsersPage is for server admins: every user, new users (with a password, or
// with a one-time sign-in link to pass on), and the server admin and
// disabled switches.
export function UsersPage({ theme, toggleTheme, health }: Props) {
  const toast = useToast();
  const { me } = useAuth();
  const allowed = canAdminServer(me);
  const [list, setList] = useState<User[] | null>(null);
  const [loadError, setLoadError] = useState('');
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [display, setDisplay] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [link, setLink] = useState<{ user: string; url: string } | null>(null);
  const [pending, setPending] = useState<number | null>(null);

  const load = useCallback(() => {
    if (!allowed) return;
    users
      .list()
      .then((l) => {
        setList(l);
        setLoadError('');
      })
      .catch((e) => setLoadError(errorMessage(e)));
  }, [allowed]);
  useEffect(load, [load]);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    const p = userNameProblem(name);
    if (p) {
      setError(p);
      return;
    }
    if (password && [...password].length < PASSWORD_MIN) {
      setError(`The password must have at least ${PASSWORD_MIN} characters (or leave it empty for a sign-in link)`);
      return;
    }
    setBusy(true);
    setError('');
    try {
      const r = await users.create({ name: name.trim().toLowerCase(), display_name: display.trim() || undefined, server_admin: admin, password: password || undefined });
      toast(`Created ${r.user.name}`, 'success');
      setLink(r.link ? { user: r.user.name, url: r.link } : null);
      setName('');
      setDisplay('');
      setPassword('');
      setAdmin(false);
      setCreating(false);
      load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function update(u: User, change: { server_admin?: boolean; disabled?: boolean }) {
    setPending(u.id);
    // Show the switch flipped at once; the server's answer replaces it.
    setList((l) => (l ? l.map((x) => (x.id === u.id ? { ...x, ...change } : x)) : l));
    try {
      const nu = await users.update(u.id, change);
      setList((l) => (l ? l.map((x) => (x.id === nu.id ? nu : x)) : l));
      toast(`${nu.name}: ${change.server_admin !== undefined ? (nu.server_admin ? 'now a server admin' : 'no longer a server admin') : nu.disabled ? 'disabled, signed out' : 'enabled'}`, 'success');
    } catch (err) {
      setList((l) => (l ? l.map((x) => (x.id === u.id ? u : x)) : l));
      toast(errorMessage(err), 'error');
    } finally {
      setPending(null);
    }
  }

  return (
    <div className="page">
      <AppHeader section="users" theme={theme} toggleTheme={toggleTheme} health={health} />
      <main className="projects">
        <div className="projects-head">
          <h1>Users</h1>
          {allowed && (
            <button className="btn btn-primary" data-testid="new-user" onClick={() => setCreating((c) => !c)}>
              New user
            </button>
          )}
        </div>
        {!allowed && (
          <div className="banner banner-warn" role="alert" data-testid="users-forbidden">
            Only server admins manage users.
          </div>
        )}
        {creating && (
          <form className="card form-grid" onSubmit={create} noValidate data-testid="new-user-form">
            <label className="field">
              <span className="field-label">Sign-in name</span>
              <input data-testid="new-user-name" value={name} placeholder="vera" autoFocus autoCapitalize="none" spellCheck={false} onChange={(e) => setName(e.target.value)} />
            </label>
            <label className="field">
              <span className="field-label">Display name</span>
              <input data-testid="new-user-display" value={display} placeholder="Vera Viewer" onChange={(e) => setDisplay(e.target.value)} />
            </label>
            <label className="field">
              <span className="field-label">Password</span>
              <input data-testid="new-user-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
              <span className="field-help">Optional: leave it empty to get a one-time sign-in link for them to set their own.</span>
            </label>
            <label className="check align-end">
              <input type="checkbox" data-testid="new-user-admin" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
              Server admin (creates projects and users; admin in every project)
            </label>
            <div className="row span-all">
              <button type="submit" className="btn btn-primary" data-testid="create-user" disabled={busy}>
                Create user
              </button>
              <button type="button" className="btn" onClick={() => setCreating(false)}>
                Cancel
              </button>
              {error && (
                <span className="error-text" role="alert" data-testid="new-user-error">
                  {error}
                </span>
              )}
            </div>
          </form>
        )}
        {link && (
          <div className="card secret-card" data-testid="new-user-link">
            <div className="row">
              <b>One-time sign-in link for {link.user}</b>
              <span className="badge badge-amber">works once, for 30 minutes</span>
            </div>
            <p className="small">Send it to {link.user}: it signs them in once and asks them to set a password.</p>
            <CopyField value={link.url} testid="new-user-link-value" copyTestid="copy-link" label={`Sign-in link for ${link.user}`} />
            <div className="row end">
              <button className="btn" data-testid="new-user-link-done" onClick={() => setLink(null)}>
                Done
              </button>
            </div>
          </div>
        )}
        {loadError && (
          <div className="banner banner-error" role="alert">
            Cannot load the users: {loadError}
          </div>
        )}
        {allowed && list === null && !loadError && <div className="muted">Loading…</div>}
        {list && (
          <div className="table-card">
            <table className="table" data-testid="user-list">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Display name</th>
                  <th>Password</th>
                  <th>Created</th>
                  <th>Server admin</th>
                  <th>Disabled</th>
                </tr>
              </thead>
              <tbody>
                {list.map((u) => {
                  const self = u.id === me.user.id;
                  return (
                    <tr key={u.id} data-testid={`user-${u.name}`} className={u.disabled ? 'row-dim' : undefined}>
                      <td className="strong mono">
                        {u.name}
                        {self && <span className="tag you">you</span>}
                      </td>
                      <td>{u.display_name && u.display_name !== u.name ? u.display_name : <span className="muted">—</span>}</td>
                      <td>{u.has_password ? 'set' : <span className="warn-text">not set (link)</span>}</td>
                      <td className="muted">{formatTime(u.created_at)}</td>
                      <td>
                        <label className="switch" title={self ? 'You cannot remove your own server admin right' : undefined}>
                          <input
                            type="checkbox"
                            data-testid={`user-admin-${u.name}`}
                            checked={u.server_admin}
                            disabled={self || pending === u.id}
                            onChange={(e) => void update(u, { server_admin: e.target.checked })}
                          />
                          <span className="sr-only">Server admin</span>
                        </label>
                      </td>
                      <td>
                        <label className="switch" title={self ? 'You cannot disable yourself' : 'A disabled user cannot sign in; their sessions end'}>
                          <input
                            type="checkbox"
                            data-testid={`user-disabled-${u.name}`}
                            checked={!!u.disabled}
                            disabled={self || pending === u.id}
                            onChange={(e) => void update(u, { disabled: e.target.checked })}
                          />
                          <span className="sr-only">Disabled</span>
                        </label>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </main>
    </div>
  );
}
