// Form controls for the inspector and the settings panel. Text inputs keep a
// local draft so that typing "1." or a space is not undone by the parse of
// the committed value.
import { useEffect, useState, type ReactNode } from 'react';
import { mapToRows, parseIntField, parseList, rowsToMap, sameMap, type KV } from '../model/form';

export function Field({
  label,
  testid,
  errors,
  help,
  required,
  children,
  wide,
}: {
  label: string;
  testid?: string;
  errors?: string[];
  help?: ReactNode;
  required?: boolean;
  children: ReactNode;
  wide?: boolean;
}) {
  return (
    <div className={`field${errors?.length ? ' field-invalid' : ''}${wide ? ' field-wide' : ''}`}>
      <span className="field-label">
        {label}
        {required && <span className="req" title="required"> *</span>}
      </span>
      {children}
      {help && <span className="field-help">{help}</span>}
      {errors?.map((e, i) => (
        <span key={i} className="field-error" data-testid={testid ? `error-${testid.replace(/^field-/, '')}` : undefined} role="alert">
          {e}
        </span>
      ))}
    </div>
  );
}

function sameText(draft: string, external: string) {
  return (draft.trim() === '' ? '' : draft) === external;
}
function sameInt(draft: string, external: string) {
  const n = parseIntField(draft);
  return (n === undefined || n === 0 ? '' : String(n)) === external || (n === undefined && draft.trim() !== '' && external === '');
}
function sameList(draft: string, external: string) {
  return parseList(draft).join(',') === parseList(external).join(',');
}

export type DraftKind = 'text' | 'int' | 'list' | 'textarea';

function useDraft(external: string, kind: DraftKind): [string, (s: string) => void] {
  const [draft, setDraft] = useState(external);
  useEffect(() => {
    const same = kind === 'int' ? sameInt : kind === 'list' ? sameList : sameText;
    setDraft((d) => (same(d, external) ? d : external));
  }, [external, kind]);
  return [draft, setDraft];
}

export function DraftInput({
  testid,
  value,
  onCommit,
  kind = 'text',
  placeholder,
  invalid,
  rows,
  ariaLabel,
}: {
  testid: string;
  value: string;
  onCommit: (s: string) => void;
  kind?: DraftKind;
  placeholder?: string;
  invalid?: boolean;
  rows?: number;
  ariaLabel?: string;
}) {
  const [draft, setDraft] = useDraft(value, kind);
  const notNumber = kind === 'int' && draft.trim() !== '' && parseIntField(draft) === undefined;
  const common = {
    'data-testid': testid,
    value: draft,
    placeholder,
    'aria-invalid': invalid || notNumber || undefined,
    'aria-label': ariaLabel,
    spellCheck: false,
  };
  const change = (s: string) => {
    setDraft(s);
    onCommit(s);
  };
  return (
    <>
      {kind === 'textarea' || (kind === 'list' && rows) ? (
        <textarea {...common} rows={rows ?? 3} onChange={(e) => change(e.target.value)} />
      ) : (
        <input {...common} type="text" inputMode={kind === 'int' ? 'numeric' : undefined} onChange={(e) => change(e.target.value)} />
      )}
      {notNumber && <span className="field-error">Not a whole number</span>}
    </>
  );
}

function withBlank(rows: KV[]): KV[] {
  const last = rows[rows.length - 1];
  return !last || last.key !== '' || last.value !== '' ? [...rows, { key: '', value: '' }] : rows;
}

export function KVEditor({
  name,
  value,
  onChange,
  errors,
  keyPlaceholder = 'KEY',
  valuePlaceholder = 'value',
}: {
  name: string;
  value: Record<string, string> | undefined;
  onChange: (rows: KV[]) => void;
  errors?: Record<string, string[]>;
  keyPlaceholder?: string;
  valuePlaceholder?: string;
}) {
  const [rows, setRows] = useState<KV[]>(() => withBlank(mapToRows(value)));
  useEffect(() => {
    setRows((r) => (sameMap(rowsToMap(r), value) ? r : withBlank(mapToRows(value))));
  }, [value]);
  const update = (next: KV[]) => {
    setRows(withBlank(next));
    onChange(next);
  };
  return (
    <div className="kv" data-testid={`field-${name}`}>
      {rows.map((r, i) => {
        const errs = errors?.[`field-${name}-key-${i}`];
        return (
          <div key={i} className="kv-row-wrap">
            <div className="kv-row">
              <input
                data-testid={`field-${name}-key-${i}`}
                value={r.key}
                placeholder={keyPlaceholder}
                aria-label={`${name} key ${i + 1}`}
                aria-invalid={errs ? true : undefined}
                spellCheck={false}
                onChange={(e) => update(rows.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))}
              />
              <input
                data-testid={`field-${name}-value-${i}`}
                value={r.value}
                placeholder={valuePlaceholder}
                aria-label={`${name} value ${i + 1}`}
                spellCheck={false}
                onChange={(e) => update(rows.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
              />
              <button
                className="icon-btn small"
                data-testid={`field-${name}-remove-${i}`}
                aria-label={`Remove ${name} row ${i + 1}`}
                disabled={r.key === '' && r.value === '' && i === rows.length - 1}
                onClick={() => update(rows.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </div>
            {errs?.map((e, k) => (
              <span key={k} className="field-error" role="alert">
                {e}
              </span>
            ))}
          </div>
        );
      })}
    </div>
  );
}

export function ListEditor({
  name,
  value,
  onChange,
  errors,
  placeholder,
}: {
  name: string;
  value: string[] | undefined;
  onChange: (items: string[]) => void;
  errors?: Record<string, string[]>;
  placeholder?: string;
}) {
  const blank = (items: string[]) => (items.length === 0 || items[items.length - 1] !== '' ? [...items, ''] : items);
  const [items, setItems] = useState<string[]>(() => blank(value ?? []));
  useEffect(() => {
    setItems((cur) => {
      const a = cur.filter((s) => s.trim() !== '').join('\u0000');
      const b = (value ?? []).join('\u0000');
      return a === b ? cur : blank(value ?? []);
    });
  }, [value]);
  const update = (next: string[]) => {
    setItems(blank(next));
    onChange(next);
  };
  return (
    <div className="list-editor" data-testid={`field-${name}`}>
      {items.map((s, i) => (
        <div key={i} className="kv-row-wrap">
          <div className="kv-row">
            <input
              data-testid={`field-${name}-${i}`}
              value={s}
              placeholder={placeholder}
              aria-label={`${name} ${i + 1}`}
              spellCheck={false}
              onChange={(e) => update(items.map((x, j) => (j === i ? e.target.value : x)))}
            />
            <button
              className="icon-btn small"
              aria-label={`Remove ${name} ${i + 1}`}
              data-testid={`field-${name}-remove-${i}`}
              disabled={s === '' && i === items.length - 1}
              onClick={() => update(items.filter((_, j) => j !== i))}
            >
              ×
            </button>
          </div>
          {errors?.[`field-${name}-${i}`]?.map((e, k) => (
            <span key={k} className="field-error" role="alert">
              {e}
            </span>
          ))}
        </div>
      ))}
    </div>
  );
}

export function MultiSelect({
  testid,
  options,
  value,
  onChange,
  invalid,
  emptyText,
}: {
  testid: string;
  options: string[];
  value: string[];
  onChange: (v: string[]) => void;
  invalid?: boolean;
  emptyText: string;
}) {
  const all = [...options, ...value.filter((v) => !options.includes(v))];
  if (all.length === 0) return <div className="muted small" data-testid={testid}>{emptyText}</div>;
  return (
    <select
      multiple
      data-testid={testid}
      value={value}
      size={Math.min(Math.max(all.length, 2), 5)}
      aria-invalid={invalid || undefined}
      onChange={(e) => onChange(Array.from(e.target.selectedOptions).map((o) => o.value))}
    >
      {all.map((o) => (
        <option key={o} value={o}>
          {o}
          {options.includes(o) ? '' : ' (not declared)'}
        </option>
      ))}
    </select>
  );
}

export function Select({
  testid,
  value,
  options,
  onChange,
  emptyLabel,
  invalid,
}: {
  testid: string;
  value: string;
  options: string[];
  onChange: (v: string) => void;
  emptyLabel?: string;
  invalid?: boolean;
}) {
  const all = value && !options.includes(value) ? [...options, value] : options;
  return (
    <select data-testid={testid} value={value} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value)}>
      {emptyLabel !== undefined && <option value="">{emptyLabel}</option>}
      {all.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
}
