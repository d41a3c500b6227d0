import { useMemo, useState } from 'react';
import type { KindInfo } from '../model/types';
import { groupKinds } from '../model/util';
import { Icon, KindIcon } from '../ui/icons';
import { KIND_MIME } from './CanvasView';

const CATEGORY_LABEL: Record<string, string> = {
  app: 'Apps',
  database: 'Databases',
  cache: 'Caches',
  queue: 'Queues',
  network: 'Network',
  worker: 'Workers and jobs',
};

interface Props {
  kinds: KindInfo[];
  error?: string;
  onAdd: (kind: string) => void;
  // disabled: why nothing can be added (a viewer's read-only canvas); the
  // kinds still show, greyed, neither draggable nor clickable.
  disabled?: string;
}

export function Palette({ kinds, error, onAdd, disabled }: Props) {
  const [query, setQuery] = useState('');
  const groups = useMemo(() => groupKinds(kinds, query), [kinds, query]);
  const off = disabled !== undefined;
  return (
    <aside className={`palette${off ? ' palette-disabled' : ''}`} data-testid="palette" aria-label="Element kinds" aria-disabled={off || undefined} title={disabled}>
      <div className="palette-search">
        <Icon name="search" size={15} />
        <input data-testid="palette-search" placeholder="Search kinds" value={query} onChange={(e) => setQuery(e.target.value)} aria-label="Search kinds" disabled={off} />
      </div>
      {off && (
        <div className="palette-note" data-testid="palette-read-only">
          {disabled}.
        </div>
      )}
      {error && <div className="palette-error">Cannot load kinds: {error}</div>}
      <div className="palette-groups">
        {groups.map(([cat, ks]) => (
          <section key={cat} className="palette-group">
            <h3>{CATEGORY_LABEL[cat] ?? cat}</h3>
            {ks.map((k) => (
              <div
                key={k.name}
                className="palette-item"
                data-testid={`palette-${k.name}`}
                draggable={!off}
                role="button"
                tabIndex={off ? -1 : 0}
                aria-disabled={off || undefined}
                title={off ? (k.description ?? k.label) : `${k.description ?? k.label}\nDrag onto the canvas, or click to add.`}
                onDragStart={(e) => {
                  if (off) {
                    e.preventDefault();
                    return;
                  }
                  e.dataTransfer.setData(KIND_MIME, k.name);
                  e.dataTransfer.setData('text/plain', k.name);
                  e.dataTransfer.effectAllowed = 'copy';
                }}
                onClick={() => !off && onAdd(k.name)}
                onKeyDown={(e) => {
                  if (!off && (e.key === 'Enter' || e.key === ' ')) {
                    e.preventDefault();
                    onAdd(k.name);
                  }
                }}
              >
                <span className="palette-icon">
                  <KindIcon icon={k.icon} size={18} />
                </span>
                <span className="palette-text">
                  <span className="palette-label">{k.label}</span>
                  <span className="palette-name">{k.name}</span>
                </span>
                {k.user && <span className="tag">user</span>}
              </div>
            ))}
          </section>
        ))}
        {groups.length === 0 && !error && <div className="muted small pad">{kinds.length ? 'No kind matches.' : 'Loading kinds…'}</div>}
      </div>
    </aside>
  );
}
