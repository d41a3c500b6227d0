import { problemTarget } from '../model/form';
import type { Problem, Schema } from '../model/types';
import { Icon } from '../ui/icons';

interface Props {
  schema: Schema;
  problems: Problem[];
  warnings: Problem[];
  validating: boolean;
  error?: string;
  onSelect: (p: Problem) => void;
}

function where(p: Problem, schema: Schema): string {
  const t = problemTarget(p, schema);
  if (t.scope === 'element') return `${t.element ?? `#${t.elementIndex}`}${t.field ? ` · ${t.field}` : ''}`;
  if (t.scope === 'connection') {
    const c = schema.connections?.[t.connection ?? -1];
    return `${c ? `${c.from} → ${c.to}` : `connection ${t.connection}`}${t.field ? ` · ${t.field}` : ''}`;
  }
  return t.field || 'schema';
}

export function ProblemsPanel({ schema, problems, warnings, validating, error, onSelect }: Props) {
  return (
    <section className="problems" aria-label="Problems">
      <div className="problems-head">
        <span className="problems-title">Problems</span>
        <span className={`count ${problems.length ? 'count-red' : 'count-ok'}`} data-testid="problem-count">
          {problems.length}
        </span>
        {warnings.length > 0 && <span className="count count-amber">{warnings.length} warning{warnings.length > 1 ? 's' : ''}</span>}
        {validating && <span className="muted small">validating…</span>}
        {error && <span className="error-text small">Validation unavailable: {error}</span>}
      </div>
      <ul className="problems-list" data-testid="problems">
        {problems.length === 0 && warnings.length === 0 && <li className="muted small empty-li">No problems.</li>}
        {problems.map((p, i) => (
          <li key={`p${i}`}>
            <button className="problem" data-testid={`problem-${i}`} onClick={() => onSelect(p)} title={p.path}>
              <span className="problem-icon red">
                <Icon name="error" size={14} />
              </span>
              <span className="problem-where mono">{where(p, schema)}</span>
              <span className="problem-msg">{p.message}</span>
            </button>
          </li>
        ))}
        {warnings.map((p, i) => (
          <li key={`w${i}`}>
            <button className="problem warning" data-testid={`warning-${i}`} onClick={() => onSelect(p)} title={p.path}>
              <span className="problem-icon amber">
                <Icon name="warning" size={14} />
              </span>
              <span className="problem-where mono">{where(p, schema)}</span>
              <span className="problem-msg">{p.message}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
