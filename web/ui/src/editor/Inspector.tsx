import { useEffect, useState, type ReactNode } from 'react';
import { connectionProblems, formText, getField, problemsByInput, setConnectionField, setField, type KV } from '../model/form';
import { effectivePort } from '../model/graph';
import { ALERT_DEFAULTS, DRIVERS, POLICIES, type Connection, type Element, type KindMap, type Problem, type Schema } from '../model/types';
import { exportedEnv } from '../model/util';
import { KindIcon } from '../ui/icons';
import { DraftInput, Field, KVEditor, ListEditor, MultiSelect, Select } from './fields';

const ALL_GROUPS = [
  'source',
  'image',
  'version',
  'command',
  'args',
  'schedule',
  'driver',
  'port',
  'env',
  'secrets',
  'resources',
  'scale',
  'health',
  'placement',
  'alerts',
  'volume',
  'upstream',
  'params',
];

const GROUP_TITLE: Record<string, string> = {
  source: 'Source',
  resources: 'Resources',
  scale: 'Scale',
  health: 'Health check',
  placement: 'Placement',
  alerts: 'Alerts',
  volume: 'Volume',
  upstream: 'Upstream',
  env: 'Environment',
  params: 'Parameters',
  secrets: 'Secrets',
  args: 'Arguments',
};

interface ElementProps {
  schema: Schema;
  element: Element;
  kinds: KindMap;
  problems: Problem[];
  onChange: (fn: (e: Element) => Element, key: string) => void;
  onRename: (to: string) => string | undefined;
  onDelete: () => void;
  // readOnly: every field is disabled and nothing can be removed (a viewer).
  readOnly?: boolean;
  // Cluster actions on the element's jobs, those the role allows (none: no
  // section); blocked says why they cannot run now (no cluster, element not
  // saved), shown as the buttons' tooltip.
  cluster?: { blocked?: string; onRollback?: () => void; onDestroy?: () => void };
  // The element's alerts: how many fire (title: their names), opening the
  // Alerts tab, and silencing them (deployers; off says why it cannot:
  // no Alertmanager). None: no alerts row (alerting is off).
  alerting?: { firing: number; title?: string; onShow: () => void; onSilence?: () => void };
}

function alertingText(n: number): string {
  return n ? `${n} alert${n === 1 ? '' : 's'} firing` : 'No alerts firing';
}

export function ElementInspector({ schema, element: el, kinds, problems, onChange, onRename, onDelete, readOnly, cluster, alerting }: ElementProps) {
  const kind = kinds[el.kind];
  const errs = problemsByInput(problems, el, schema);
  const [idDraft, setIdDraft] = useState(el.id);
  const [idError, setIdError] = useState<string>();
  useEffect(() => {
    setIdDraft(el.id);
    setIdError(undefined);
  }, [el.id]);

  const set = (path: string) => (raw: unknown) => onChange((e) => setField(e, path, raw), `${el.id}:${path}`);
  const text = (path: string) => formText(el, path);
  const e = (path: string) => errs[`field-${path}`];

  const fields = kind ? kind.fields : ALL_GROUPS.map((name) => ({ name, required: false, options: undefined, help: undefined }));
  const fieldInfo = (name: string) => kind?.fields.find((f) => f.name === name);
  const regions = Object.keys(schema.regions ?? {});
  const receivers = Object.keys(schema.receivers ?? {});

  function input(path: string, label: string, opts: { kind?: 'text' | 'int' | 'textarea'; placeholder?: string; help?: ReactNode; required?: boolean } = {}) {
    return (
      <Field label={label} testid={`field-${path}`} errors={e(path)} help={opts.help} required={opts.required}>
        <DraftInput
          testid={`field-${path}`}
          value={text(path)}
          kind={opts.kind}
          placeholder={opts.placeholder}
          invalid={!!e(path)}
          onCommit={set(path)}
          ariaLabel={label}
        />
      </Field>
    );
  }

  function checkbox(path: string, label: string, help?: string) {
    return (
      <label className="check">
        <input type="checkbox" data-testid={`field-${path}`} checked={getField(el, path) === true} onChange={(ev) => set(path)(ev.target.checked)} />
        {label}
        {help && <span className="field-help"> {help}</span>}
      </label>
    );
  }

  function group(name: string, required: boolean, help?: string): ReactNode {
    const d = kind?.defaults;
    switch (name) {
      case 'source':
        return (
          <>
            {input('source.repo', 'Repository', { placeholder: 'https://github.com/acme/api.git', required })}
            <div className="grid2">
              {input('source.branch', 'Branch', { placeholder: 'main' })}
              {input('source.ref', 'Ref', { placeholder: 'commit or tag' })}
            </div>
            {input('source.dir', 'Directory', { placeholder: '.' })}
            {checkbox('source.autodeploy', 'Auto-deploy on push')}
            {(el.source?.autodeploy === true || (el.source?.paths?.length ?? 0) > 0) &&
              input('source.paths', 'Paths', {
                kind: 'textarea',
                placeholder: 'services/api, libs/shared',
                help: 'Only a push that changes a file under one of these folders deploys (comma or one per line; empty: any change).',
              })}
            {input('source.build', 'Build command', { placeholder: 'npm ci' })}
            {input('source.start', 'Start command', { placeholder: 'npm start' })}
          </>
        );
      case 'image': {
        const img = d?.images?.[el.version ?? kind?.versions?.[0] ?? ''];
        return input('image', 'Image', { placeholder: img ?? 'registry/image:tag', required, help });
      }
      case 'version': {
        const versions = kind?.versions ?? [];
        return (
          <Field label="Version" testid="field-version" errors={e('version')} help={help}>
            {versions.length > 0 ? (
              <Select testid="field-version" value={el.version ?? ''} options={versions} emptyLabel={`Default (${versions[0]})`} onChange={set('version')} invalid={!!e('version')} />
            ) : (
              <DraftInput testid="field-version" value={text('version')} onCommit={set('version')} />
            )}
          </Field>
        );
      }
      case 'command':
        return input('command', 'Command', { kind: 'textarea', placeholder: 'python3 -m worker', required, help: help ?? 'Run with sh -c.' });
      case 'args':
        return (
          <Field label="Arguments" testid="field-args-0" errors={errs['field-args']} help={help}>
            <ListEditor name="args" value={el.args} onChange={set('args')} errors={errs} placeholder="--flag" />
          </Field>
        );
      case 'schedule':
        return input('schedule', 'Schedule', { placeholder: '0 3 * * *', required, help: help ?? 'Cron expression, in the cluster’s time zone.' });
      case 'driver': {
        const opts = fieldInfo('driver')?.options ?? [...DRIVERS];
        const def = d?.driver ?? schema.defaults?.driver ?? 'docker';
        return (
          <Field label="Driver" testid="field-driver" errors={e('driver')} help={help}>
            <Select testid="field-driver" value={el.driver ?? ''} options={opts} emptyLabel={`Default (${def})`} onChange={set('driver')} invalid={!!e('driver')} />
          </Field>
        );
      }
      case 'port':
        return input('port', 'Port', { kind: 'int', placeholder: d?.port ? String(d.port) : 'e.g. 3000', required, help: help ?? 'The app listens on $PORT.' });
      case 'env':
        return (
          <Field label="Environment" testid="field-env" errors={errs['field-env']} help={help}>
            <KVEditor name="env" value={el.env} errors={errs} onChange={(rows: KV[]) => set('env')(rows)} />
          </Field>
        );
      case 'secrets':
        return (
          <Field
            label="Secrets"
            testid="field-secrets"
            errors={e('secrets')}
            help={
              <>
                Names only, one per line. Values are never stored here: set them in Vault at{' '}
                <code>
                  secret/backplane/{schema.project}/{el.id}
                </code>
                .
              </>
            }
          >
            <DraftInput testid="field-secrets" kind="list" rows={3} value={(el.secrets ?? []).join('\n')} onCommit={set('secrets')} placeholder="STRIPE_KEY" invalid={!!e('secrets')} />
          </Field>
        );
      case 'resources':
        return (
          <div className="grid3">
            {input('resources.cpu', 'CPU (MHz)', { kind: 'int', placeholder: d?.resources?.cpu ? String(d.resources.cpu) : '' })}
            {input('resources.memory', 'Memory (MB)', { kind: 'int', placeholder: d?.resources?.memory ? String(d.resources.memory) : '' })}
            {input('resources.memory_max', 'Memory max', { kind: 'int' })}
          </div>
        );
      case 'scale':
        return (
          <div className="grid2">
            {input('scale.count', 'Count', { kind: 'int', placeholder: '1' })}
            {input('scale.cpu_target', 'CPU target %', { kind: 'int' })}
            {input('scale.min', 'Min', { kind: 'int' })}
            {input('scale.max', 'Max', { kind: 'int', help: 'Set max to autoscale: count is then the starting count, and deploys keep the count the autoscaler chose.' })}
          </div>
        );
      case 'health':
        return (
          <>
            <div className="grid2">
              {input('health.http', 'HTTP path', { placeholder: d?.health?.http ?? '/healthz' })}
              <div className="field">
                <span className="field-label">TCP</span>
                {checkbox('health.tcp', 'TCP check')}
              </div>
            </div>
            <div className="grid3">
              {input('health.interval', 'Interval', { placeholder: '10s' })}
              {input('health.timeout', 'Timeout', { placeholder: '2s' })}
              {input('health.min_healthy_time', 'Min healthy', { placeholder: '10s' })}
            </div>
          </>
        );
      case 'placement':
        return (
          <>
            <Field label="Regions" testid="field-placement.regions" errors={e('placement.regions')} help={regions.length ? 'Ctrl/Cmd-click for several.' : undefined}>
              <MultiSelect
                testid="field-placement.regions"
                options={regions}
                value={el.placement?.regions ?? []}
                onChange={set('placement.regions')}
                invalid={!!e('placement.regions')}
                emptyText="No regions declared: add them in Project settings."
              />
            </Field>
            <Field label="Datacenters" testid="field-placement.datacenters" errors={e('placement.datacenters')} help="Comma-separated; empty uses each region's.">
              <DraftInput
                testid="field-placement.datacenters"
                kind="list"
                value={(el.placement?.datacenters ?? []).join(', ')}
                onCommit={set('placement.datacenters')}
                placeholder="eu-west-1"
              />
            </Field>
          </>
        );
      case 'alerts':
        return (
          <>
            <Field label="Receivers" testid="field-alerts.receivers" errors={e('alerts.receivers')}>
              <MultiSelect
                testid="field-alerts.receivers"
                options={receivers}
                value={el.alerts?.receivers ?? []}
                onChange={set('alerts.receivers')}
                invalid={!!e('alerts.receivers')}
                emptyText="No receivers declared: add them in Project settings."
              />
            </Field>
            <div className="grid2">
              {input('alerts.restarts', 'Restarts', { kind: 'int', placeholder: String(ALERT_DEFAULTS.restarts) })}
              {input('alerts.restart_window', 'Within', { placeholder: ALERT_DEFAULTS.restart_window })}
              {input('alerts.down_after', 'Down after', { placeholder: ALERT_DEFAULTS.down_after })}
              {input('alerts.check_after', 'Check failing for', { placeholder: ALERT_DEFAULTS.check_after })}
            </div>
            <span className="field-help">
              RestartLoop fires at that many restarts within the window, ElementDown when no instance has run for “down after”, CheckCritical when a health
              check has failed that long. Empty takes the default shown; durations as 30s, 10m, 1h.
            </span>
          </>
        );
      case 'volume':
        return (
          <div className="grid2">
            {input('volume.name', 'Host volume', { placeholder: `${el.id}-data` })}
            {input('volume.size_mb', 'Size (MB)', { kind: 'int' })}
          </div>
        );
      case 'upstream':
        return (
          <Field label="Policy" testid="field-upstream.policy" errors={e('upstream.policy')}>
            <Select testid="field-upstream.policy" value={el.upstream?.policy ?? ''} options={[...POLICIES]} emptyLabel="Default (round_robin)" onChange={set('upstream.policy')} />
          </Field>
        );
      case 'params':
        return (
          <Field label="Parameters" testid="field-params" errors={errs['field-params']} help={help}>
            <KVEditor name="params" value={el.params} errors={errs} keyPlaceholder="name" onChange={(rows: KV[]) => set('params')(rows)} />
          </Field>
        );
      default:
        return (
          <div className="muted small">
            Field <code>{name}</code> is edited in the YAML view.
          </div>
        );
    }
  }

  const single = new Set(['image', 'version', 'command', 'schedule', 'driver', 'port']);
  return (
    <fieldset className="plain-fieldset inspector-body" data-testid="inspector-element" disabled={readOnly}>
      <div className="insp-head">
        <span className="insp-icon">
          <KindIcon icon={kind?.icon} size={22} />
        </span>
        <div>
          <div className="insp-title">{kind?.label ?? el.kind}</div>
          <div className="muted small mono" data-testid="field-kind">
            {el.kind}
          </div>
        </div>
        <div className="spacer" />
        {!readOnly && (
          <button className="btn btn-small btn-danger" data-testid="delete-element" onClick={onDelete}>
            Remove
          </button>
        )}
      </div>
      {!kind && <div className="banner banner-warn">Unknown kind “{el.kind}”: every field is shown.</div>}
      {kind?.description && <p className="muted small">{kind.description}</p>}
      {cluster && (cluster.onRollback || cluster.onDestroy) && (
        <div className="insp-actions" data-testid="element-cluster-actions" title={cluster.blocked}>
          <span className="muted small">Cluster</span>
          <div className="spacer" />
          {cluster.onRollback && (
            <button
              className="btn btn-small"
              data-testid="rollback"
              disabled={!!cluster.blocked}
              title={cluster.blocked ?? `Roll ${el.id} back to an earlier job version`}
              onClick={cluster.onRollback}
            >
              Rollback…
            </button>
          )}
          {cluster.onDestroy && (
            <button
              className="btn btn-small btn-danger"
              data-testid="destroy-element"
              disabled={!!cluster.blocked}
              title={cluster.blocked ?? `Stop the jobs of ${el.id}`}
              onClick={cluster.onDestroy}
            >
              Destroy element…
            </button>
          )}
        </div>
      )}
      {alerting && (
        <div className={`insp-actions${alerting.firing ? ' insp-alerting' : ''}`} data-testid="element-alert-actions">
          {readOnly ? (
            // (a viewer's inspector is a disabled fieldset: no buttons)
            <span className="small" data-testid="element-alerts" title={alerting.title}>
              {alertingText(alerting.firing)}
            </span>
          ) : (
            <button type="button" className="link-btn small" data-testid="element-alerts" title={alerting.title ?? 'Show the Alerts tab'} onClick={alerting.onShow}>
              {alertingText(alerting.firing)}
            </button>
          )}
          <div className="spacer" />
          {alerting.onSilence && (
            <button type="button" className="btn btn-small" data-testid="silence-element" title={`Mute the alerts of ${el.id} for a while`} onClick={alerting.onSilence}>
              Silence alerts…
            </button>
          )}
        </div>
      )}
      {errs['']?.map((m, i) => (
        <div key={i} className="banner banner-error">
          {m}
        </div>
      ))}
      <Field label="ID" testid="field-id" errors={[...(idError ? [idError] : []), ...(errs['field-id'] ?? [])]} help="Renaming updates connections and layout.">
        <input
          data-testid="field-id"
          value={idDraft}
          spellCheck={false}
          aria-invalid={idError || errs['field-id'] ? true : undefined}
          onChange={(ev) => {
            const v = ev.target.value;
            setIdDraft(v);
            const t = v.trim();
            if (!t) {
              setIdError('ID is required');
              return;
            }
            setIdError(onRename(t));
          }}
          onBlur={() => {
            setIdDraft(el.id);
            setIdError(undefined);
          }}
        />
      </Field>
      {fields.map((f) => {
        const body = group(f.name, !!f.required, f.help);
        if (single.has(f.name)) return <div key={f.name}>{body}</div>;
        return (
          <section key={f.name} className="insp-group">
            <h4>
              {GROUP_TITLE[f.name] ?? f.name}
              {f.required && <span className="req"> *</span>}
            </h4>
            {body}
          </section>
        );
      })}
      {kind && (
        <div className="muted small insp-foot">
          {kind.service ? `Service${effectivePort(el, kind) ? ` on port ${effectivePort(el, kind)}` : ' (no port yet)'}` : 'Not a service'}
          {kind.connects ? ' · connects to services' : ''}
          {kind.exports?.length ? (
            <>
              {' '}
              · exports <code>{exportedEnv(el, kind)}</code>
            </>
          ) : null}
        </div>
      )}
    </fieldset>
  );
}

interface EdgeProps {
  schema: Schema;
  index: number;
  connection: Connection;
  kinds: KindMap;
  problems: Problem[];
  onChange: (fn: (c: Connection) => Connection, key: string) => void;
  onDelete: () => void;
  readOnly?: boolean;
}

export function EdgeInspector({ schema, index, connection: c, kinds, problems, onChange, onDelete, readOnly }: EdgeProps) {
  const from = schema.elements.find((e) => e.id === c.from);
  const to = schema.elements.find((e) => e.id === c.to);
  const fromKind = from ? kinds[from.kind] : undefined;
  const toKind = to ? kinds[to.kind] : undefined;
  const errs = connectionProblems(problems, index);
  const set = (path: string) => (raw: string) => onChange((x) => setConnectionField(x, path, raw), `conn:${index}:${path}`);
  const routes = !!fromKind?.routes;
  return (
    <fieldset className="plain-fieldset inspector-body" data-testid="inspector-connection" disabled={readOnly}>
      <div className="insp-head">
        <div>
          <div className="insp-title">Connection</div>
          <div className="muted small">
            <span data-testid="field-from" className="mono">
              {c.from}
            </span>{' '}
            →{' '}
            <span data-testid="field-to" className="mono">
              {c.to}
            </span>
          </div>
        </div>
        <div className="spacer" />
        {!readOnly && (
          <button className="btn btn-small btn-danger" data-testid="delete-connection" onClick={onDelete}>
            Remove
          </button>
        )}
      </div>
      {errs['']?.map((m, i) => (
        <div key={i} className="banner banner-error">
          {m}
        </div>
      ))}
      {errs['field-from']?.map((m, i) => <div key={`f${i}`} className="banner banner-error">from: {m}</div>)}
      {errs['field-to']?.map((m, i) => <div key={`t${i}`} className="banner banner-error">to: {m}</div>)}
      <Field
        label="Env var"
        testid="field-env"
        errors={errs['field-env']}
        help={
          <>
            {c.from} gets this var. Leave empty for <code>{to ? exportedEnv(to, toKind) : 'the default'}</code>.
          </>
        }
      >
        <DraftInput testid="field-env" value={c.env ?? ''} onCommit={set('env')} placeholder={to ? exportedEnv(to, toKind) : ''} />
      </Field>
      {routes ? (
        <>
          <Field label="Route path" testid="field-route.path" errors={errs['field-route.path']} help="Requests under this path go to the target.">
            <DraftInput testid="field-route.path" value={c.route?.path ?? ''} onCommit={set('route.path')} placeholder="/" />
          </Field>
          <Field label="Weight" testid="field-weight" errors={errs['field-weight']} help="Relative share of traffic.">
            <DraftInput testid="field-weight" kind="int" value={c.weight ? String(c.weight) : ''} onCommit={set('weight')} placeholder="1" />
          </Field>
        </>
      ) : (
        (c.weight || c.route) && <div className="muted small">Weight and route apply to load balancer connections only.</div>
      )}
    </fieldset>
  );
}
