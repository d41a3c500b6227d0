import { useCallback, useEffect, useMemo, useState } from 'react';
import { errorMessage, tokens, type Health } from '../api';
import { useAuth } from '../auth';
import { EXPIRY_CHOICES, tokenRoles, tokenState, type Role, type TokenInfo } from '../model/roles';
import { formatTime } from '../model/util';
import type { Theme } from '../theme';
import { AppHeader } from '../ui/AppHeader';
import { CopyField } from '../ui/CopyField';
import { Dialog } from '../ui/Dialog';
import { useToast } from '../ui/toast';

interface Props {
  theme: Theme;
  toggleTheme: () => void;
  health: Health | null;
}

const STATE_BADGE = { active: 'badge-green', expired: 'badge-grey', revoked: 'badge-red' } as const;

// TokensPage lists the user's personal API tokens and makes new ones (the
// token is shown once), for the CLI and CI: `Authorization: Bearer <token>`.
export function TokensPage({ theme, toggleTheme, health }: Props) {
  const toast = useToast();
  const { me } = useAuth();
  const [list, setList] = useState<TokenInfo[] | null>(null);
  const [loadError, setLoadError] = useState('');
  const [name, setName] = useState('');
  const [project, setProject] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [expiry, setExpiry] = useState('90d');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ token: string; info: TokenInfo } | null>(null);
  const [revoking, setRevoking] = useState<TokenInfo | null>(null);

  const load = useCallback(() => {
    tokens
      .list()
      .then((l) => {
        setList([...l].sort((a, b) => b.id - a.id));
        setLoadError('');
      })
      .catch((e) => setLoadError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);

  const roles = useMemo(() => tokenRoles(me, project), [me, project]);
  // Keep the chosen role within what the project allows.
  useEffect(() => {
    if (roles.length && !roles.includes(role)) setRole(roles[roles.length - 1]);
  }, [roles, role]);

  async function create(e: React.FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      setError('Give the token a name (what it is for: ci, laptop…)');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const r = await tokens.create({ name: name.trim(), project: project || undefined, role, expires_in: expiry || undefined });
      setCreated(r);
      setName('');
      load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function revoke(t: TokenInfo) {
    try {
      await tokens.revoke(t.id);
      toast(`Revoked ${t.name}`, 'success');
      setRevoking(null);
      load();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  }

  return (
    <div className="page">
      <AppHeader section="tokens" theme={theme} toggleTheme={toggleTheme} health={health} />
      <main className="projects">
        <div className="projects-head">
          <h1>API tokens</h1>
        </div>
        <p className="muted lead">
          Personal tokens for the CLI and CI: send one as <code>Authorization: Bearer &lt;token&gt;</code>, or run <code>backplane login</code>. A token acts
          as you, with its role or yours in the project, whichever is lower.
        </p>

        {created ? (
          <div className="card secret-card" data-testid="new-token">
            <div className="row">
              <b>Token “{created.info.name}” created.</b>
              <span className="badge badge-amber">shown once</span>
            </div>
            <p className="small">Copy it now: Backplane keeps only its hash and cannot show it again.</p>
            <CopyField value={created.token} testid="new-token-value" copyTestid="copy-token" label="The new token" />
            <div className="row end">
              <button className="btn btn-primary" data-testid="new-token-done" onClick={() => setCreated(null)}>
                I have copied it
              </button>
            </div>
          </div>
        ) : (
          <form className="card form-grid" onSubmit={create} noValidate data-testid="new-token-form">
            <label className="field">
              <span className="field-label">Name</span>
              <input data-testid="new-token-name" value={name} placeholder="ci" maxLength={100} onChange={(e) => setName(e.target.value)} />
            </label>
            <label className="field">
              <span className="field-label">Project</span>
              <select data-testid="new-token-project" value={project} onChange={(e) => setProject(e.target.value)}>
                <option value="">All my projects</option>
                {me.projects.map((p) => (
                  <option key={p.project} value={p.project}>
                    {p.project} ({p.role})
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span className="field-label">Role</span>
              <select data-testid="new-token-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
                {roles.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
              <span className="field-help">At most your own role{project ? ` in ${project}` : ''}.</span>
            </label>
            <label className="field">
              <span className="field-label">Expires</span>
              <select data-testid="new-token-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
                {EXPIRY_CHOICES.map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            </label>
            <div className="row span-all">
              <button type="submit" className="btn btn-primary" data-testid="create-token" disabled={busy || roles.length === 0}>
                Create token
              </button>
              {error && (
                <span className="error-text" role="alert" data-testid="new-token-error">
                  {error}
                </span>
              )}
            </div>
          </form>
        )}

        {loadError && (
          <div className="banner banner-error" role="alert">
            Cannot load your tokens: {loadError}
          </div>
        )}
        {list === null && !loadError && <div className="muted">Loading…</div>}
        {list && list.length === 0 && (
          <div className="empty" data-testid="tokens-empty">
            No tokens yet.
          </div>
        )}
        {list && list.length > 0 && (
          <div className="table-card">
            <table className="table" data-testid="token-list">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Prefix</th>
                  <th>Project</th>
                  <th>Role</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th>Last used</th>
                  <th>State</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((t) => {
                  const st = tokenState(t);
                  return (
                    <tr key={t.id} data-testid={`token-${t.id}`} data-state={st} className={st !== 'active' ? 'row-dim' : undefined}>
                      <td className="strong">{t.name}</td>
                      <td className="mono">{t.prefix}…</td>
                      <td>{t.project ? <span className="mono">{t.project}</span> : <span className="muted">all projects</span>}</td>
                      <td>{t.role}</td>
                      <td className="muted">{formatTime(t.created_at)}</td>
                      <td className="muted">{t.expires_at ? formatTime(t.expires_at) : 'never'}</td>
                      <td className="muted">{t.last_used_at ? formatTime(t.last_used_at) : 'never'}</td>
                      <td>
                        <span className={`badge ${STATE_BADGE[st]}`} data-testid={`token-state-${t.id}`} title={t.revoked_at ? `Revoked ${formatTime(t.revoked_at)}` : undefined}>
                          {st}
                        </span>
                      </td>
                      <td className="right">
                        {st === 'active' && (
                          <button className="btn btn-small btn-danger" data-testid={`revoke-${t.id}`} onClick={() => setRevoking(t)}>
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </main>
      {revoking && (
        <Dialog
          title={`Revoke ${revoking.name}?`}
          testId="revoke-dialog"
          onClose={() => setRevoking(null)}
          footer={
            <>
              <button className="btn" onClick={() => setRevoking(null)}>
                Cancel
              </button>
              <button className="btn btn-danger" data-testid="confirm-revoke" onClick={() => void revoke(revoking)}>
                Revoke token
              </button>
            </>
          }
        >
          <p>
            Anything using <b className="mono">{revoking.prefix}…</b> stops working at once. It stays listed as revoked.
          </p>
        </Dialog>
      )}
    </div>
  );
}
