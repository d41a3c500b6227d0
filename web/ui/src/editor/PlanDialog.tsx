import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, errorMessage, type DeployResult, type Deployment, type PlanResult } from '../api';
import { deployBuilds, newestId, plannedBuildText, type Build } from '../model/builds';
import { NO_CLUSTER } from '../model/cluster';
import { stateLight, type Status } from '../model/types';
import { Dialog } from '../ui/Dialog';
import { BuildLog } from './BuildPanel';

interface Props {
  slug: string;
  revision: number;
  dirty: boolean;
  statuses: Record<string, Status>;
  deployment: Deployment | null;
  // builds: the project's recent builds, live from the events; the
  // dialog shows the logs of those its deploy starts.
  builds?: Build[] | null;
  // onShowBuild opens an element's Build tab.
  onShowBuild?: (element: string) => void;
  onClose: () => void;
  onSave: () => Promise<boolean>;
  onNoCluster: () => void;
}

function show(v: unknown): string {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(show).filter(Boolean).join('\n');
  if (typeof v === 'object' && Object.keys(v).length === 0) return '';
  return JSON.stringify(v, null, 2);
}

const ACTION_CLASS: Record<string, string> = {
  create: 'badge-green',
  update: 'badge-amber',
  unchanged: 'badge-grey',
  remove: 'badge-red',
  error: 'badge-red',
};

export function PlanDialog({ slug, revision, dirty, statuses, deployment, builds, onShowBuild, onClose, onSave, onNoCluster }: Props) {
  const [plan, setPlan] = useState<PlanResult | null>(null);
  const [planning, setPlanning] = useState(false);
  const [error, setError] = useState('');
  const [noCluster, setNoCluster] = useState(false);
  const [deploying, setDeploying] = useState(false);
  const [result, setResult] = useState<DeployResult | null>(null);
  const [blocked, setBlocked] = useState<string[]>([]);
  // buildsAfter: the newest build ID when the deploy began (null: no
  // deploy yet); newer builds of the planned elements are its own.
  const [buildsAfter, setBuildsAfter] = useState<number | null>(null);
  const [buildFailed, setBuildFailed] = useState(false);
  const buildsRef = useRef(builds);
  buildsRef.current = builds;

  const noClusterRef = useRef(onNoCluster);
  noClusterRef.current = onNoCluster;
  const handle = useCallback((e: unknown) => {
    if (e instanceof ApiError && (e.code === 'no_cluster' || e.status === 503)) {
      setNoCluster(true);
      setError(e.message);
      noClusterRef.current();
    } else setError(errorMessage(e));
  }, []);

  const runPlan = useCallback(async () => {
    setPlanning(true);
    setError('');
    setNoCluster(false);
    setBlocked([]);
    try {
      setPlan(await api.plan(slug));
    } catch (e) {
      setPlan(null);
      handle(e);
    } finally {
      setPlanning(false);
    }
  }, [slug, handle]);

  useEffect(() => {
    void runPlan();
  }, [runPlan]);

  async function deploy() {
    setDeploying(true);
    setError('');
    setBlocked([]);
    setBuildFailed(false);
    setBuildsAfter(newestId(buildsRef.current ?? null));
    try {
      setResult(await api.deploy(slug, plan?.revision ? { revision: plan.revision } : {}));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'blocked') {
        const b = e.body as { problems?: unknown[] } | undefined;
        setBlocked((b?.problems ?? []).map((p) => (typeof p === 'string' ? p : show(p))));
        setError(e.message);
      } else if (e instanceof ApiError && e.code === 'build_failed') {
        setBuildFailed(true);
        setError(e.message);
      } else handle(e);
    } finally {
      setDeploying(false);
    }
  }

  async function saveAndPlan() {
    if (await onSave()) await runPlan();
  }

  const items = plan?.items ?? [];
  const planned = plan?.builds ?? [];
  const mine = buildsAfter === null ? [] : deployBuilds(builds ?? null, buildsAfter, planned.map((p) => p.element));
  const problems = [...(plan?.problems ?? []).map(show), ...blocked];
  const canDeploy = !!plan && !planning && !deploying && !noCluster && problems.length === 0 && !result;
  const myDeployment = deployment && result?.deployment && String(deployment.id) === String(result.deployment.id) ? deployment : result?.deployment;

  return (
    <Dialog
      title={result ? 'Deploying' : 'Plan'}
      onClose={onClose}
      testId="plan-dialog"
      wide
      footer={
        <>
          <button className="btn" data-testid="plan-close" onClick={onClose}>
            {result ? 'Close' : 'Cancel'}
          </button>
          {!result && (
            <button className="btn" data-testid="plan-refresh" onClick={() => void runPlan()} disabled={planning}>
              Re-plan
            </button>
          )}
          {!result && (
            <button className="btn btn-primary" data-testid="deploy" onClick={() => void deploy()} disabled={!canDeploy}>
              {deploying ? 'Deploying…' : 'Deploy'}
            </button>
          )}
        </>
      }
    >
      {noCluster && (
        <div className="banner banner-warn" data-testid="no-cluster" role="alert">
          <b>{NO_CLUSTER}.</b> Plan and deploy need a Nomad cluster: start the server with <code>NOMAD_ADDR</code> set. {error && <span className="muted">({error})</span>}
        </div>
      )}
      {!noCluster && error && (
        <div className="banner banner-error" role="alert" data-testid="plan-error" style={buildFailed ? { whiteSpace: 'pre-wrap' } : undefined}>
          {error}
        </div>
      )}
      {dirty && !result && (
        <div className="banner banner-warn" data-testid="plan-unsaved">
          The plan is for the saved revision {revision}; your unsaved changes are not in it.{' '}
          <button className="btn btn-small" data-testid="plan-save" onClick={() => void saveAndPlan()}>
            Save and re-plan
          </button>
        </div>
      )}
      {planning && <div className="muted">Planning revision {revision}…</div>}
      {problems.length > 0 && (
        <div className="banner banner-error" data-testid="plan-problems">
          <b>Deploy is blocked:</b>
          <ul>
            {problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      {plan && !result && (
        <>
          <div className="muted small">Revision {plan.revision}</div>
          <table className="table" data-testid="plan-items">
            <thead>
              <tr>
                <th>Element</th>
                <th>Region</th>
                <th>Action</th>
                <th>Changes</th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={4} className="muted">
                    Nothing to do.
                  </td>
                </tr>
              )}
              {items.map((it, i) => (
                <tr key={i} data-testid={`plan-item-${it.element}-${it.region}`}>
                  <td className="mono">{it.element}</td>
                  <td>{it.region}</td>
                  <td>
                    <span className={`badge ${ACTION_CLASS[it.action] ?? 'badge-grey'}`}>{it.action}</span>
                  </td>
                  <td>
                    {show(it.changes) && <pre className="code small-code">{show(it.changes)}</pre>}
                    {show(it.notes) && (
                      <div className="muted small" style={{ whiteSpace: 'pre-line' }} data-testid={`plan-notes-${it.element}-${it.region}`}>
                        {show(it.notes)}
                      </div>
                    )}
                    {show(it.unplaced) && <div className="error-text small">Cannot place: {show(it.unplaced)}</div>}
                    {show(it.warnings) && <div className="warn-text small">{show(it.warnings)}</div>}
                    {it.error && <div className="error-text small">{it.error}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {show(plan.warnings) && <div className="warn-text small">{show(plan.warnings)}</div>}
          {planned.length > 0 && (
            <div className="small" data-testid="plan-builds">
              <b>Built first:</b> {planned.map((p) => plannedBuildText(p)).join(', ')}
            </div>
          )}
        </>
      )}
      {mine.length > 0 && (
        <div className="deploy-builds" data-testid="deploy-builds">
          {mine.map((b) => (
            <div key={b.id} data-testid={`deploy-build-${b.element}`} data-status={b.status}>
              <div className="small">
                Build of <span className="mono">{b.element}</span>: <b>{b.status}</b>
                {onShowBuild && (
                  <>
                    {' '}
                    <button type="button" className="link-btn small" data-testid={`deploy-build-open-${b.element}`} onClick={() => onShowBuild(b.element)}>
                      Open the Build tab
                    </button>
                  </>
                )}
              </div>
              <BuildLog slug={slug} build={b} testid={`deploy-build-log-${b.element}`} />
            </div>
          ))}
        </div>
      )}
      {result && (
        <>
          {myDeployment && (
            <div className="muted small" data-testid="deployment-status">
              Deployment {String(myDeployment.id)}: <b>{myDeployment.status ?? 'started'}</b>
              {myDeployment.summary ? ` — ${myDeployment.summary}` : ''}
            </div>
          )}
          <table className="table" data-testid="deploy-items">
            <thead>
              <tr>
                <th>Element</th>
                <th>Region</th>
                <th>Outcome</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {(result.items ?? []).map((it, i) => {
                const st = statuses[`${it.element}|${it.region}`];
                const light = stateLight(st?.state);
                return (
                  <tr key={i} data-testid={`deploy-item-${it.element}-${it.region}`}>
                    <td className="mono">{it.element}</td>
                    <td>{it.region}</td>
                    <td>
                      <span className={`badge ${it.outcome === 'failed' || it.outcome === 'conflict' ? 'badge-red' : it.outcome === 'registered' ? 'badge-green' : 'badge-grey'}`}>{it.outcome}</span>
                      {it.error && <div className="error-text small">{it.error}</div>}
                    </td>
                    <td>
                      <span className={`dot lamp-${light}`} /> {st ? `${st.state} · ${st.running ?? 0}/${st.desired ?? 0}` : 'waiting for status…'}
                      {st?.last_event && <div className="muted small">{st.last_event}</div>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </Dialog>
  );
}
