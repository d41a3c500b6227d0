import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorMessage, type Deployment, type RevisionInfo } from '../api';
import { redeployTarget, TRIGGER_LABEL, triggerOf } from '../model/autodeploy';
import { deploymentBadge, sortDeployments, upsertDeployment } from '../model/cluster';
import { formatTime } from '../model/util';
import { Icon } from '../ui/icons';

export type HistoryView = 'revisions' | 'deploys';

interface Props {
  slug: string;
  revision: number;
  // The latest `deployment` event of the editor's events stream: the deploy
  // list takes it in and reloads.
  deployment: Deployment | null;
  view: HistoryView;
  onView: (v: HistoryView) => void;
  // onRestore loads a revision into the editor; none for a read-only user.
  onRestore?: (yaml: string, n: number) => void;
  // canRedeploy: the user may deploy (a git deploy then offers "Redeploy
  // this commit").
  canRedeploy?: boolean;
}

export function DiffView({ text }: { text: string }) {
  if (!text.trim()) return <div className="muted small">No changes.</div>;
  return (
    <pre className="code diff" data-testid="revision-diff">
      {text.split('\n').map((l, i) => {
        const cls = l.startsWith('+++') || l.startsWith('---') ? 'd-file' : l.startsWith('@@') ? 'd-hunk' : l.startsWith('+') ? 'd-add' : l.startsWith('-') ? 'd-del' : '';
        return (
          <div key={i} className={cls}>
            {l || ' '}
          </div>
        );
      })}
    </pre>
  );
}

export function HistoryPanel({ slug, revision, deployment, view, onView, onRestore, canRedeploy }: Props) {
  return (
    <div className="inspector-body" data-testid="history-panel">
      <div className="tabs small-tabs" role="tablist">
        {(
          [
            ['revisions', 'Revisions'],
            ['deploys', 'Deploys'],
          ] as [HistoryView, string][]
        ).map(([v, label]) => (
          <button key={v} role="tab" aria-selected={view === v} className={view === v ? 'active' : ''} data-testid={`history-tab-${v}`} onClick={() => onView(v)}>
            {label}
          </button>
        ))}
      </div>
      {view === 'revisions' ? <Revisions slug={slug} revision={revision} onRestore={onRestore} /> : <Deployments slug={slug} deployment={deployment} canRedeploy={canRedeploy} />}
    </div>
  );
}

function Deployments({ slug, deployment, canRedeploy }: { slug: string; deployment: Deployment | null; canRedeploy?: boolean }) {
  const [list, setList] = useState<Deployment[] | null>(null);
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState('');

  async function redeploy(d: Deployment) {
    const t = redeployTarget(d);
    if (!t) return;
    setBusy(String(d.id));
    setNote('');
    setError('');
    try {
      await api.redeployCommit(slug, t.element, t.sha);
      setNote(`Queued a deploy of ${t.element} at ${t.sha.slice(0, 7)}; it is listed here when it starts.`);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy('');
    }
  }

  const load = useCallback(() => {
    api
      .deployments(slug)
      .then((d) => {
        setList(sortDeployments(d));
        setError('');
      })
      .catch((e) => setError(errorMessage(e)));
  }, [slug]);
  useEffect(load, [load]);
  // A deployment started or ended (one that arrived before this list was
  // shown is in the first load): show it at once, then reload the list.
  const seen = useRef(deployment);
  useEffect(() => {
    if (!deployment || deployment === seen.current) return;
    seen.current = deployment;
    setList((l) => (l === null ? l : upsertDeployment(l, deployment)));
    load();
  }, [deployment, load]);

  return (
    <>
      <div className="row">
        <div className="insp-title">Deployments</div>
        <div className="spacer" />
        <button className="btn btn-small" data-testid="deployments-refresh" onClick={load}>
          Refresh
        </button>
      </div>
      {error && <div className="banner banner-error">{error}</div>}
      {note && (
        <div className="banner banner-info" data-testid="redeploy-queued">
          {note}
        </div>
      )}
      {list === null && !error && <div className="muted small">Loading…</div>}
      {list !== null && (
        <div data-testid="deployments">
          {list.length === 0 ? (
            <div className="empty small" data-testid="deployments-empty">
              No deployments yet. Deploys, rollbacks and destroys are listed here, newest first.
            </div>
          ) : (
            <ul className="rev-list">
              {list.map((d) => {
                const trigger = triggerOf(d);
                const target = canRedeploy ? redeployTarget(d) : null;
                return (
                <li key={String(d.id)} className="deploy" data-testid={`deployment-${d.id}`}>
                  <div className="deploy-head">
                    <span className="deploy-action">{d.action || 'deploy'}</span>
                    {d.revision ? <span className="muted small mono">rev {d.revision}</span> : null}
                    <span
                      className="deploy-trigger muted small"
                      data-testid={`deploy-trigger-${d.id}`}
                      data-trigger={trigger}
                      title={trigger === 'webhook' ? 'Started by a push webhook' : trigger === 'poll' ? 'Started by polling the repository' : 'Started by a user'}
                    >
                      {trigger === 'webhook' && <Icon name="download" size={11} />}
                      {trigger === 'poll' && <Icon name="refresh" size={11} />}
                      {TRIGGER_LABEL[trigger]}
                    </span>
                    {d.git_sha && (
                      <span className="deploy-commit small" data-testid={`deploy-commit-${d.id}`} title={d.git_sha}>
                        {d.git_sha.slice(0, 7)}
                      </span>
                    )}
                    <div className="spacer" />
                    <span className={`badge ${deploymentBadge(d.status)}`} data-testid={`deployment-status-${d.id}`}>
                      {d.status || 'unknown'}
                    </span>
                  </div>
                  {d.summary && <div className="deploy-summary small">{d.summary}</div>}
                  <div className="muted small">
                    {d.author || 'anonymous'} · {formatTime(d.created_at)}
                  </div>
                  {target && (
                    <div className="row">
                    <button
                      className="btn btn-small"
                      data-testid={`deploy-redeploy-${d.id}`}
                      disabled={busy !== ''}
                      title={`Deploy ${target.element} at ${target.sha} again (queued like a push)`}
                      onClick={() => void redeploy(d)}
                    >
                      Redeploy this commit
                    </button>
                    </div>
                  )}
                </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
    </>
  );
}

function Revisions({ slug, revision, onRestore }: { slug: string; revision: number; onRestore?: (yaml: string, n: number) => void }) {
  const [revs, setRevs] = useState<RevisionInfo[] | null>(null);
  const [error, setError] = useState('');
  const [open, setOpen] = useState<number | null>(null);
  const [diff, setDiff] = useState<string | null>(null);
  const [diffError, setDiffError] = useState('');

  const load = useCallback(() => {
    api
      .revisions(slug)
      .then((r) => {
        setRevs(r);
        setError('');
      })
      .catch((e) => setError(errorMessage(e)));
  }, [slug]);
  useEffect(load, [load, revision]);

  async function show(n: number) {
    setOpen(n);
    setDiff(null);
    setDiffError('');
    try {
      const d = await api.diff(slug, n);
      setDiff(d.diff ?? '');
    } catch (e) {
      setDiffError(errorMessage(e));
    }
  }

  async function restore(n: number) {
    if (!onRestore) return;
    try {
      const r = await api.revision(slug, n);
      onRestore(r.yaml, n);
    } catch (e) {
      setDiffError(errorMessage(e));
    }
  }

  return (
    <>
      <div className="row">
        <div className="insp-title">Revisions</div>
        <div className="spacer" />
        <button className="btn btn-small" onClick={load}>
          Refresh
        </button>
      </div>
      {error && <div className="banner banner-error">{error}</div>}
      {revs === null && !error && <div className="muted small">Loading…</div>}
      <ul className="rev-list" data-testid="history-list">
        {revs?.map((r) => (
          <li key={r.number} className={open === r.number ? 'open' : ''}>
            <button className="rev" data-testid={`revision-${r.number}`} onClick={() => (open === r.number ? setOpen(null) : show(r.number))}>
              <span className="rev-n">#{r.number}</span>
              <span className="rev-msg">{r.message || <span className="muted">no message</span>}</span>
              <span className="muted small">
                {r.author || 'anonymous'} · {formatTime(r.created_at)}
              </span>
            </button>
            {open === r.number && (
              <div className="rev-detail">
                {diffError && <div className="banner banner-error">{diffError}</div>}
                {diff === null && !diffError && <div className="muted small">Loading diff…</div>}
                {diff !== null && (
                  <>
                    <div className="muted small">{r.number > 1 ? `Changes from #${r.number - 1} to #${r.number}` : 'First revision'}</div>
                    <DiffView text={diff} />
                  </>
                )}
                {onRestore && (
                  <button className="btn btn-small" data-testid={`revision-restore-${r.number}`} onClick={() => restore(r.number)} title="Load this revision into the editor (save to make it the head)">
                    Load into editor
                  </button>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
