import { useEffect, useState } from 'react';
import { parseList, parseProblemPath } from '../model/form';
import { DRIVERS, type Problem, type Receiver, type Region, type Schema } from '../model/types';
import { Field, Select } from './fields';

interface RegionRow {
  name: string;
  datacenters: string;
  consul: string;
  extra: Region;
}

interface ReceiverRow {
  name: string;
  type: 'slack' | 'email' | 'webhook';
  a: string;
  b: string;
  extra: Receiver;
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

function receiverRows(m: Schema['receivers']): ReceiverRow[] {
  return Object.entries(m ?? {}).map(([name, r]) => {
    if (r?.email) return { name, type: 'email', a: r.email.to ?? '', b: '', extra: r };
    if (r?.webhook) return { name, type: 'webhook', a: r.webhook.url ?? '', b: r.webhook.url_secret ?? '', extra: r };
    return { name, type: 'slack', a: r?.slack?.channel ?? '', b: r?.slack?.webhook_url_secret ?? '', extra: r ?? {} };
  });
}

function rowsToReceivers(rows: ReceiverRow[]): Schema['receivers'] {
  const out: Record<string, Receiver> = {};
  for (const r of rows) {
    const name = r.name.trim();
    if (!name) continue;
    const base: Receiver = { ...r.extra };
    delete base.slack;
    delete base.email;
    delete base.webhook;
    if (r.type === 'slack') base.slack = { ...(r.extra.slack ?? {}), channel: r.a, webhook_url_secret: r.b };
    else if (r.type === 'email') base.email = { ...(r.extra.email ?? {}), to: r.a };
    else {
      const w: NonNullable<Receiver['webhook']> = { ...(r.extra.webhook ?? {}) };
      if (r.a) w.url = r.a;
      else delete w.url;
      if (r.b) w.url_secret = r.b;
      else delete w.url_secret;
      base.webhook = w;
    }
    out[name] = base;
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
}

export function SettingsPanel({ schema, problems, readOnly, onChange }: Props) {
  const [regions, setRegions] = useRows<RegionRow>(schema.regions, () => regionRows(schema.regions), rowsToRegions);
  const [receivers, setReceivers] = useRows<ReceiverRow>(schema.receivers, () => receiverRows(schema.receivers), rowsToReceivers);

  const projectProblems = problems.filter((p) => parseProblemPath(p.path ?? '').scope === 'project' && !p.element);
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

      <section className="insp-group">
        <h4>Alert receivers</h4>
        {receivers.map((r, i) => (
          <div key={i} className="receiver-row">
            <div className="settings-row">
              <input
                data-testid={`settings-receiver-name-${i}`}
                value={r.name}
                placeholder="name"
                aria-label="Receiver name"
                onChange={(e) => updateReceivers(receivers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
              />
              <select
                data-testid={`settings-receiver-type-${i}`}
                value={r.type}
                aria-label="Receiver type"
                onChange={(e) => updateReceivers(receivers.map((x, j) => (j === i ? { ...x, type: e.target.value as ReceiverRow['type'], a: '', b: '' } : x)))}
              >
                <option value="slack">Slack</option>
                <option value="email">Email</option>
                <option value="webhook">Webhook</option>
              </select>
              <button className="icon-btn small" aria-label="Remove receiver" data-testid={`settings-receiver-remove-${i}`} onClick={() => updateReceivers(receivers.filter((_, j) => j !== i))}>
                ×
              </button>
            </div>
            <div className="settings-row">
              <input
                data-testid={`settings-receiver-a-${i}`}
                value={r.a}
                placeholder={r.type === 'slack' ? '#channel' : r.type === 'email' ? 'oncall@example.com' : 'https://hooks.example.com/…'}
                aria-label={r.type === 'slack' ? 'Channel' : r.type === 'email' ? 'To' : 'URL'}
                onChange={(e) => updateReceivers(receivers.map((x, j) => (j === i ? { ...x, a: e.target.value } : x)))}
              />
              {r.type !== 'email' && (
                <input
                  data-testid={`settings-receiver-b-${i}`}
                  value={r.b}
                  placeholder={r.type === 'slack' ? 'webhook URL secret name' : 'or URL secret name'}
                  aria-label="Secret name"
                  onChange={(e) => updateReceivers(receivers.map((x, j) => (j === i ? { ...x, b: e.target.value } : x)))}
                />
              )}
            </div>
          </div>
        ))}
        <button className="btn btn-small" data-testid="settings-receiver-add" onClick={() => setReceivers([...receivers, { name: '', type: 'slack', a: '', b: '', extra: {} }])}>
          Add receiver
        </button>
        <p className="muted small">Slack webhook URLs are secrets: only their names are stored in the schema.</p>
      </section>

    </fieldset>
  );
}
