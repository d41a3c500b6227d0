import { useState } from 'react';
import { api, ApiError, errorMessage, type OpResult } from '../api';
import { canConfirmDestroy, destroyBody, NO_CLUSTER, parseVersion, resultText, rollbackBody, summarizeResults } from '../model/cluster';
import { Dialog } from '../ui/Dialog';
import { useToast } from '../ui/toast';

// A cluster action the dialog confirms and runs: roll one element back, or
// destroy one element's jobs (element set) or the whole project's.
export type ClusterOp = { action: 'rollback'; element: string; regions: string[] } | { action: 'destroy'; element?: string; regions?: string[] };

interface Props {
  slug: string;
  op: ClusterOp;
  revision: number;
  dirty: boolean;
  clusterMissing: boolean;
  onClose: () => void;
  onNoCluster: () => void;
}

export function ClusterOpDialog({ slug, op, revision, dirty, clusterMissing, onClose, onNoCluster }: Props) {
  const toast = useToast();
  const [version, setVersion] = useState('');
  const [typed, setTyped] = useState('');
  const [purge, setPurge] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [noCluster, setNoCluster] = useState(false);
  const [results, setResults] = useState<OpResult[] | null>(null);

  const rollback = op.action === 'rollback';
  const whole = op.action === 'destroy' && op.element === undefined;
  const target = op.element ?? slug;
  const parsed = parseVersion(version);
  const missing = clusterMissing || noCluster;
  const ready = !busy && !missing && !results && (rollback ? parsed.ok : !whole || canConfirmDestroy(typed, slug));

  async function run() {
    if (!ready) return;
    setBusy(true);
    setError('');
    try {
      const r =
        op.action === 'rollback'
          ? await api.rollback(slug, rollbackBody(op.element, parsed.ok ? parsed.version : undefined))
          : await api.destroy(slug, destroyBody(purge, op.element));
      setResults(r);
      const s = summarizeResults(r, op.action, target);
      toast(s.text, s.kind);
    } catch (e) {
      if (e instanceof ApiError && (e.code === 'no_cluster' || e.status === 503)) {
        setNoCluster(true);
        onNoCluster();
      }
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  const title = rollback ? `Roll back ${op.element}` : whole ? `Destroy ${slug}` : `Destroy ${op.element}`;
  const regions = op.regions?.length ? op.regions.join(', ') : '';

  return (
    <Dialog
      title={title}
      onClose={onClose}
      testId={rollback ? 'rollback-dialog' : 'destroy-dialog'}
      footer={
        <>
          <button className="btn" data-testid="op-cancel" onClick={onClose}>
            {results ? 'Close' : 'Cancel'}
          </button>
          {!results && (
            <button
              className={rollback ? 'btn btn-primary' : 'btn btn-danger'}
              data-testid={rollback ? 'rollback-confirm' : 'destroy-confirm'}
              onClick={() => void run()}
              disabled={!ready}
              title={missing ? NO_CLUSTER : undefined}
            >
              {busy ? (rollback ? 'Rolling back…' : 'Destroying…') : rollback ? 'Roll back' : whole ? 'Destroy project' : 'Destroy element'}
            </button>
          )}
        </>
      }
    >
      {missing && (
        <div className="banner banner-warn" role="alert" data-testid="op-no-cluster">
          <b>{NO_CLUSTER}.</b> Rollback and destroy need a Nomad cluster: start the server with <code>NOMAD_ADDR</code> set.
        </div>
      )}
      {error && !noCluster && (
        <div className="banner banner-error" role="alert" data-testid="op-error">
          {error}
        </div>
      )}
      {!results && (
        <>
          {rollback ? (
            <>
              <p>
                Roll the jobs of <b className="mono">{op.element}</b>
                {regions && <> ({regions})</>} back to an earlier version: Nomad re-registers that version of each job.
              </p>
              <label className="field">
                <span className="field-label">Job version</span>
                <input
                  data-testid="rollback-version"
                  value={version}
                  inputMode="numeric"
                  placeholder="last stable"
                  aria-invalid={parsed.ok ? undefined : true}
                  onChange={(e) => setVersion(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') void run();
                  }}
                />
                {parsed.ok ? (
                  <span className="field-help">Empty rolls back to the last stable version before the current one.</span>
                ) : (
                  <span className="field-error" data-testid="rollback-version-error">
                    {parsed.error}
                  </span>
                )}
              </label>
            </>
          ) : whole ? (
            <>
              <p>
                This stops every job of <b className="mono">{slug}</b> in every region. The schema and its revisions stay: deploy again to bring the jobs back.
              </p>
              <label className="field">
                <span className="field-label">
                  Type <b className="mono">{slug}</b> to confirm
                </span>
                <input
                  data-testid="destroy-slug"
                  value={typed}
                  spellCheck={false}
                  autoComplete="off"
                  onChange={(e) => setTyped(e.target.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') void run();
                  }}
                />
              </label>
            </>
          ) : (
            <p>
              This stops the jobs of <b className="mono">{op.element}</b>
              {regions && <> in {regions}</>}. The element stays in the schema: deploy again to bring it back.
            </p>
          )}
          {!rollback && (
            <label className="check">
              <input type="checkbox" data-testid="destroy-purge" checked={purge} onChange={(e) => setPurge(e.target.checked)} />
              Purge
              <span className="field-help">also remove the jobs and their history from Nomad (no rollback afterwards)</span>
            </label>
          )}
          <div className="muted small">
            Acts on the jobs of the saved revision {revision}
            {dirty ? '; your unsaved changes play no part' : ''}.
          </div>
        </>
      )}
      {results && (
        <table className="table" data-testid="op-results">
          <thead>
            <tr>
              <th>Element</th>
              <th>Region</th>
              <th>Job</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {results.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No jobs to act on.
                </td>
              </tr>
            )}
            {results.map((r, i) => (
              <tr key={i} data-testid={`op-result-${r.element}-${r.region}`}>
                <td className="mono">{r.element}</td>
                <td>{r.region}</td>
                <td className="mono small">{r.job_id}</td>
                <td>
                  <span className={`badge ${r.error ? 'badge-red' : 'badge-green'}`}>{r.error ? 'failed' : 'ok'}</span>{' '}
                  <span className={r.error ? 'error-text small' : 'small'}>{resultText(r, op.action, purge)}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Dialog>
  );
}
