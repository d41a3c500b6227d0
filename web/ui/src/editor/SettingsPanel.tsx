import { useEffect, useState } from 'react';
import { parseList, parseProblemPath } from '../model/form';
import { hasSmtp, newReceiverRow, receiverProblems, receiverRows, rowsToReceivers, withType, type ReceiverRow, type ReceiverType } from '../model/receivers';
import { DRIVERS, type Problem, type Region, type Schema } from '../model/types';
import { Field, Select } from './fields';
import { GitHooksSection } from './GitHooksSection';

interface RegionRow {
  name: string;
  datacenters: string;
  consul: string;
  extra: Region;
}


function regionRows(m: Schema['regions']): RegionRow[] {
  return Object.entries(m ?? {}).map(([name, r]) => ({
    name,
    datacenters: (r?.datacenters ?? []).join(', '),
    consul: r?.consul_datacenter ?? '',
    extra: r ?? {},
  }));
}

function rowsToRegions(rows: RegionRow[]): Schema['regions'] {
  const out: Record<string, Region> = {};
  for (const r of rows) {
    const name = r.name.trim();
    if (!name) continue;
    const reg: Region = { ...r.extra };
    const dcs = parseList(r.datacenters);
    if (dcs.length) reg.datacenters = dcs;
    else delete reg.datacenters;
    if (r.consul.trim()) reg.consul_datacenter = r.consul.trim();
    else delete reg.consul_datacenter;
    out[name] = reg;
  }
  return Object.keys(out).length ? out : undefined;
}

function useRows<R>(external: unknown, toRows: () => R[], fromRows: (r: R[]) => unknown): [R[], (r: R[]) => void] {
  const [rows, setRows] = useState<R[]>(toRows);
  const ext = JSON.stringify(external ?? null);
  useEffect(() => {
    setRows((r) => (JSON.stringify(fromRows(r) ?? null) === ext ? r : toRows()));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ext]);
  return [rows, setRows];
}

interface Props {
  schema: Schema;
  problems: Problem[];
  // readOnly: every control is disabled (a viewer).
  readOnly?: boolean;
  onChange: (fn: (s: Schema) => Schema, key: string) => void;
  // hooksSlug: the project whose webhook for deploys from git is shown
  // (admins only; none: no "Deploy from git" section).
  hooksSlug?: string;
}

export function SettingsPanel({ schema, problems, readOnly, onChange, hooksSlug }: Props) {
  const [regions, setRegions] = useRows<RegionRow>(schema.regions, () => regionRows(schema.regions), rowsToRegions);
  const [receivers, setReceivers] = useRows<ReceiverRow>(schema.receivers, () => receiverRows(schema.receivers), rowsToReceivers);

  const recvErrors = receiverProblems(problems, receivers.map((r) => r.name.trim()));
  // Problems about a receiver's field show at the field; the rest on top.
  const projectProblems = problems.filter((p) => {
    if (parseProblemPath(p.path ?? '').scope !== 'project' || p.element) return false;
    return Object.keys(receiverProblems([p], receivers.map((r) => r.name.trim()))).length === 0;
  });
  const set = (key: string, value: unknown) =>
    onChange((s) => {
      const out: Schema = { ...s };
      if (value === undefined || value === '' || value === false) delete out[key];
      else out[key] = value;
      return out;
    }, `settings:${key}`);
  const setDefaults = (k: 'region' | 'driver', v: string) =>
    onChange((s) => {
      const d = { ...(s.defaults ?? {}) };
      if (v) d[k] = v;
      else delete d[k];
      const out: Schema = { ...s, defaults: d };
      if (Object.keys(d).length === 0) delete out.defaults;
      return out;
    }, `settings:defaults.${k}`);

  const updateRegions = (rows: RegionRow[]) => {
    setRegions(rows);
    set('regions', rowsToRegions(rows));
  };
  const updateReceivers = (rows: ReceiverRow[]) => {
    setReceivers(rows);
    set('receivers', rowsToReceivers(rows));
  };

  return (
    <fieldset className="plain-fieldset inspector-body" data-testid="settings-panel" disabled={readOnly}>
      <div className="insp-title">Project settings</div>
      {projectProblems.length > 0 && (
        <div className="banner banner-error">
          {projectProblems.map((p, i) => (
            <div key={i}>
              <code>{p.path}</code>: {p.message}
            </div>
          ))}
        </div>
      )}
      <div className="grid2">
        <Field label="Project">
          <input value={schema.project} readOnly data-testid="settings-project" className="readonly" />
        </Field>
        <Field label="Nomad namespace">
          <input data-testid="settings-namespace" value={schema.namespace ?? ''} placeholder="default" onChange={(e) => set('namespace', e.target.value.trim() ? e.target.value : undefined)} />
        </Field>
      </div>
      <label className="check">
        <input type="checkbox" data-testid="settings-mesh" checked={schema.mesh === true} onChange={(e) => set('mesh', e.target.checked || undefined)} />
        Consul service mesh (every connection is an intention; everything else is denied)
      </label>

      <section className="insp-group">
        <h4>Regions</h4>
        {regions.map((r, i) => (
          <div key={i} className="settings-row">
            <input
              data-testid={`settings-region-name-${i}`}
              value={r.name}
              placeholder="eu"
              aria-label="Region name"
              onChange={(e) => updateRegions(regions.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
            />
            <input
              data-testid={`settings-region-dcs-${i}`}
              value={r.datacenters}
              placeholder="datacenters, comma-separated"
              aria-label="Datacenters"
              onChange={(e) => updateRegions(regions.map((x, j) => (j === i ? { ...x, datacenters: e.target.value } : x)))}
            />
            <button className="icon-btn small" aria-label="Remove region" data-testid={`settings-region-remove-${i}`} onClick={() => updateRegions(regions.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
        ))}
        <button className="btn btn-small" data-testid="settings-region-add" onClick={() => setRegions([...regions, { name: '', datacenters: '', consul: '', extra: {} }])}>
          Add region
        </button>
      </section>

      <section className="insp-group">
        <h4>Defaults</h4>
        <div className="grid2">
          <Field label="Region">
            <Select
              testid="settings-defaults-region"
              value={schema.defaults?.region ?? ''}
              options={Object.keys(schema.regions ?? {})}
              emptyLabel="(none)"
              onChange={(v) => setDefaults('region', v)}
            />
          </Field>
          <Field label="Driver">
            <Select testid="settings-defaults-driver" value={schema.defaults?.driver ?? ''} options={[...DRIVERS]} emptyLabel="(docker)" onChange={(v) => setDefaults('driver', v)} />
          </Field>
        </div>
      </section>

      <section className="insp-group" data-testid="settings-receivers">
        <h4>Alert receivers</h4>
        {receivers.map((r, i) => (
          <ReceiverEditor
            key={i}
            index={i}
            row={r}
            errors={recvErrors[r.name.trim()]}
            onChange={(row) => updateReceivers(receivers.map((x, j) => (j === i ? row : x)))}
            onRemove={() => updateReceivers(receivers.filter((_, j) => j !== i))}
          />
        ))}
        <button className="btn btn-small" data-testid="settings-receiver-add" onClick={() => setReceivers([...receivers, newReceiverRow()])}>
          Add receiver
        </button>
        <p className="muted small" data-testid="settings-receiver-secrets-help">
          Fields named <i>… secret</i> take the <b>name</b> of a project secret, never its value: set the value with{' '}
          <code>backplane secrets set -f backplane.yaml --project NAME</code> (it reads the value from stdin). Elements pick their receivers in the inspector.
        </p>
      </section>
      {hooksSlug && <GitHooksSection slug={hooksSlug} />}
    </fieldset>
  );
}

const TYPE_LABEL: Record<ReceiverType, string> = { slack: 'Slack', email: 'Email', webhook: 'Webhook' };

// ReceiverEditor is one receiver of the project: its name and type, then
// the type's fields (an email's SMTP settings folded away unless set).
function ReceiverEditor({
  index: i,
  row: r,
  errors,
  onChange,
  onRemove,
}: {
  index: number;
  row: ReceiverRow;
  errors?: Record<string, string[]>;
  onChange: (row: ReceiverRow) => void;
  onRemove: () => void;
}) {
  const [smtpOpen, setSmtpOpen] = useState(() => hasSmtp(r));
  const smtpShown = smtpOpen || hasSmtp(r) || ['from', 'smarthost', 'auth_username', 'auth_password_secret'].some((f) => errors?.[f]);
  const value = (f: string) => r.values[f] ?? '';
  const setValue = (f: string, v: string) => onChange({ ...r, values: { ...r.values, [f]: v } });
  // field is one labelled input; testid keeps the a/b names of the
  // receiver's main fields.
  const field = (f: string, label: string, placeholder: string, testid = f, help?: string) => (
    <Field label={label} errors={errors?.[f]} help={help}>
      <input
        data-testid={`settings-receiver-${testid}-${i}`}
        value={value(f)}
        placeholder={placeholder}
        aria-label={label}
        aria-invalid={errors?.[f] ? true : undefined}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => setValue(f, e.target.value)}
      />
    </Field>
  );
  return (
    <div className="receiver-row" data-testid={`settings-receiver-${i}`} data-type={r.type}>
      <div className="settings-row">
        <input data-testid={`settings-receiver-name-${i}`} value={r.name} placeholder="name" aria-label="Receiver name" spellCheck={false} onChange={(e) => onChange({ ...r, name: e.target.value })} />
        <select data-testid={`settings-receiver-type-${i}`} value={r.type} aria-label="Receiver type" onChange={(e) => onChange(withType(r, e.target.value as ReceiverType))}>
          {(Object.keys(TYPE_LABEL) as ReceiverType[]).map((t) => (
            <option key={t} value={t}>
              {TYPE_LABEL[t]}
            </option>
          ))}
        </select>
        <button className="icon-btn small" aria-label="Remove receiver" data-testid={`settings-receiver-remove-${i}`} onClick={onRemove}>
          ×
        </button>
      </div>
      {errors?.['']?.map((m, k) => (
        <span key={k} className="field-error" role="alert">
          {m}
        </span>
      ))}
      {r.type === 'slack' && (
        <div className="grid2">
          {field('channel', 'Channel', '#api', 'a')}
          {field('webhook_url_secret', 'Webhook URL secret', 'SLACK_URL', 'b')}
        </div>
      )}
      {r.type === 'webhook' && (
        <div className="grid2">
          {field('url', 'URL', 'https://hooks.example.com/…', 'a')}
          {field('url_secret', 'or URL secret', 'HOOK_URL', 'b')}
        </div>
      )}
      {r.type === 'email' && (
        <>
          {field('to', 'To', 'oncall@example.com, ops@example.com', 'a')}
          {smtpShown ? (
            <div className="grid2" data-testid={`settings-receiver-smtp-${i}`}>
              {field('from', 'From', 'alerts@example.com')}
              {field('smarthost', 'SMTP server', 'smtp.example.com:587')}
              {field('auth_username', 'SMTP user', 'alerts@example.com')}
              {field('auth_password_secret', 'SMTP password secret', 'SMTP_PASSWORD')}
            </div>
          ) : (
            <button type="button" className="btn btn-small" data-testid={`settings-receiver-smtp-open-${i}`} onClick={() => setSmtpOpen(true)}>
              SMTP settings…
            </button>
          )}
          {!smtpShown && <span className="field-help">Sender and SMTP server default to the Alertmanager&apos;s own (its global smtp_* settings).</span>}
        </>
      )}
    </div>
  );
}
