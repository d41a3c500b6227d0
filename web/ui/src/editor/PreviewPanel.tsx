import { useEffect, useMemo, useState } from 'react';
import { api, errorMessage, problemsOf } from '../api';
import type { Schema } from '../model/types';
import { pickFiles } from '../model/util';

type Tab = 'hcl' | 'json' | 'vault' | 'alert';
const TABS: [Tab, string][] = [
  ['hcl', 'HCL'],
  ['json', 'JSON'],
  ['vault', 'Vault policy'],
  ['alert', 'Alert route'],
];

interface Props {
  slug: string;
  schema: Schema;
  element?: string;
}

export function PreviewPanel({ slug, schema, element }: Props) {
  const [tab, setTab] = useState<Tab>('hcl');
  const [files, setFiles] = useState<Record<string, string> | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [region, setRegion] = useState('');

  useEffect(() => {
    if (!element) return;
    const ctl = new AbortController();
    const t = setTimeout(() => {
      setLoading(true);
      api
        .render(slug, schema, element, ctl.signal)
        .then((r) => {
          setFiles(r.files ?? {});
          setError('');
        })
        .catch((e) => {
          if (ctl.signal.aborted) return;
          const probs = problemsOf(e);
          setError(probs.length ? `The schema has problems: ${probs.map((p) => `${p.path}: ${p.message}`).join('; ')}` : errorMessage(e));
          setFiles(null);
        })
        .finally(() => {
          if (!ctl.signal.aborted) setLoading(false);
        });
    }, 400);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [slug, schema, element]);

  const picked = useMemo(() => (files && element ? pickFiles(files, schema.project, element) : null), [files, element, schema.project]);

  if (!element) return <div className="inspector-body muted">Select an element to preview the files Backplane renders for it.</div>;

  let body: string | undefined;
  let regions: string[] = [];
  if (picked) {
    if (tab === 'hcl' || tab === 'json') {
      const m = tab === 'hcl' ? picked.hcl : picked.json;
      regions = Object.keys(m).sort();
      const r = regions.includes(region) ? region : regions[0];
      body = r ? m[r] : undefined;
    } else if (tab === 'vault') body = picked.vault;
    else body = picked.alert;
  }

  return (
    <div className="inspector-body preview" data-testid="preview-panel">
      <div className="tabs small-tabs" role="tablist">
        {TABS.map(([t, label]) => (
          <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} data-testid={`preview-tab-${t}`} onClick={() => setTab(t)}>
            {label}
          </button>
        ))}
      </div>
      {regions.length > 1 && (
        <div className="row small">
          Region:
          {regions.map((r) => (
            <button key={r} className={`chip${(region || regions[0]) === r ? ' active' : ''}`} onClick={() => setRegion(r)}>
              {r}
            </button>
          ))}
        </div>
      )}
      {loading && <div className="muted small">Rendering…</div>}
      {error && <div className="banner banner-error">{error}</div>}
      {!error && picked && (
        <pre className="code" data-testid="preview-content">
          {body ?? (tab === 'vault' ? 'This element has no Vault policy (it has no secrets).' : 'No file for this element.')}
        </pre>
      )}
    </div>
  );
}
