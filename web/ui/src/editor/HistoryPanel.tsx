import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage, type RevisionInfo } from '../api';
import { formatTime } from '../model/util';

interface Props {
  slug: string;
  revision: number;
  onRestore: (yaml: string, n: number) => void;
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

export function HistoryPanel({ slug, revision, onRestore }: Props) {
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
    try {
      const r = await api.revision(slug, n);
      onRestore(r.yaml, n);
    } catch (e) {
      setDiffError(errorMessage(e));
    }
  }

  return (
    <div className="inspector-body" data-testid="history-panel">
      <div className="row">
        <div className="insp-title">History</div>
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
                <button className="btn btn-small" data-testid={`revision-restore-${r.number}`} onClick={() => restore(r.number)} title="Load this revision into the editor (save to make it the head)">
                  Load into editor
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
