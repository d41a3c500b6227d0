// The element's Metrics tab: CPU, memory and restarts over a range, one
// line per instance (region and short alloc ID), from GET
// /projects/{p}/metrics (serve's own samples of Nomad, or Prometheus), and
// the instances now from the `metrics` events. Logic in model/metrics.ts;
// the charts are uPlot (ui/Chart.tsx).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import { ApiError, errorMessage, metrics as metricsApi } from '../api';
import {
  alignedData,
  chartData,
  DEFAULT_METRICS_RANGE,
  emptyState,
  failureOf,
  humanBytes,
  humanCount,
  humanMHz,
  humanPercent,
  METRIC_RANGES,
  metricsQuery,
  NO_CLUSTER_METRICS,
  rangeBlocked,
  rangeSeconds,
  refreshEvery,
  reservation,
  seriesLabel,
  shortAlloc,
  stepSeconds,
  type ChartData,
  type MetricsInstance,
  type MetricsRange,
  type MetricsRangeKey,
} from '../model/metrics';
import type { Theme } from '../theme';
import { Chart, CHART_THEME, lineColor } from '../ui/Chart';
import { Icon } from '../ui/icons';

interface Props {
  slug: string;
  element: string;
  theme: Theme;
  // live: the element's instances from the latest `metrics` event
  // (undefined: none came yet; the panel then asks /metrics/now once).
  live?: MetricsInstance[];
  // onNoCluster: the server answered 503 no_cluster.
  onNoCluster?: () => void;
}

interface Answer {
  element: string;
  range: MetricsRangeKey;
  data: MetricsRange;
  at: number;
}

// Failure of a range read, kept with what it was a read of.
interface Failed {
  element: string;
  range: MetricsRangeKey;
  error: ApiError | Error;
}

const CHART_HEIGHT = 140;
const RESTARTS_HEIGHT = 90;

// Increments of the memory axis: powers of two of each binary unit.
const BYTE_INCRS = [0, 1, 2, 3].flatMap((k) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k)).concat([1024 ** 4]);
const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export function MetricsPanel({ slug, element, theme, live, onNoCluster }: Props) {
  const [range, setRange] = useState<MetricsRangeKey>(DEFAULT_METRICS_RANGE);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [failed, setFailed] = useState<Failed | null>(null);
  // source: where the last answer came from ("nomad" blocks long ranges).
  const [source, setSource] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [again, setAgain] = useState(0);
  const [fetched, setFetched] = useState<{ element: string; list: MetricsInstance[] } | null>(null);
  const onNoClusterRef = useRef(onNoCluster);
  onNoClusterRef.current = onNoCluster;

  // Read the range now, then again every few seconds for short ranges
  // (not while the page is hidden, nor once the server said there is no
  // cluster).
  useEffect(() => {
    let alive = true;
    let ctl: AbortController | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const every = refreshEvery(range);
    const load = async () => {
      if (typeof document !== 'undefined' && document.hidden && every) {
        timer = setTimeout(load, every);
        return;
      }
      ctl = new AbortController();
      setLoading(true);
      let stop = false;
      try {
        const data = await metricsApi.range(slug, metricsQuery(element, range), ctl.signal);
        if (!alive) return;
        setAnswer({ element, range, data, at: Date.now() });
        setSource(data.source);
        setFailed(null);
      } catch (e) {
        if (!alive || (e instanceof DOMException && e.name === 'AbortError')) return;
        const err = e instanceof Error ? e : new Error(String(e));
        setFailed({ element, range, error: err });
        if (err instanceof ApiError) {
          const kind = failureOf(err);
          if (kind === 'needs_prometheus') setSource('nomad');
          if (kind === 'no_cluster') {
            stop = true;
            onNoClusterRef.current?.();
          }
          if (kind === 'unknown_element' || err.status === 401 || err.status === 403 || err.status === 404) stop = true;
        }
      } finally {
        if (alive) setLoading(false);
      }
      if (alive && every && !stop) timer = setTimeout(load, every);
    };
    void load();
    return () => {
      alive = false;
      ctl?.abort();
      clearTimeout(timer);
    };
  }, [slug, element, range, again]);

  // Until a `metrics` event brings the instances, ask for them once.
  const haveLive = live !== undefined;
  useEffect(() => {
    if (haveLive) return;
    const ctl = new AbortController();
    metricsApi
      .now(slug, element, ctl.signal)
      .then((s) => setFetched({ element, list: (s.instances ?? []).filter((i) => i.element === element) }))
      .catch(() => {
        // The range read shows what is wrong.
      });
    return () => ctl.abort();
  }, [slug, element, haveLive]);

  const instances = live ?? (fetched?.element === element ? fetched.list : undefined);
  const current = answer && answer.element === element && answer.range === range ? answer : null;
  const failure = failed && failed.element === element && failed.range === range ? failed.error : null;
  const kind = failure instanceof ApiError ? failureOf(failure) : failure ? 'other' : null;

  const step = stepSeconds(current?.data.step);
  const cpu = useMemo(() => chartData(current?.data.series, 'cpu_mhz', { percent: 'cpu_percent', step }), [current, step]);
  const memory = useMemo(() => chartData(current?.data.series, 'memory_bytes', { percent: 'memory_percent', step }), [current, step]);
  const restarts = useMemo(() => chartData(current?.data.series, 'restarts', { step }), [current, step]);
  const empty = current ? emptyState(current.data, instances) : '';
  // The x axis spans the whole range, up to the time of the read.
  const xRange = useMemo<[number, number] | undefined>(() => {
    if (!current) return undefined;
    const end = Math.floor(current.at / 1000);
    return [end - rangeSeconds(current.range), end];
  }, [current]);
  // What a percentage is of: the live instances' reservation, else worked
  // out from the series.
  const cpuReserved = instances?.find((i) => i.cpu_reserved_mhz)?.cpu_reserved_mhz ?? reservation(cpu.lines);
  const memLimit = instances?.find((i) => i.memory_limit_bytes)?.memory_limit_bytes ?? reservation(memory.lines);

  const state = kind === 'no_cluster' ? 'no-cluster' : failure && !current ? 'error' : !current ? 'loading' : empty ? 'empty' : 'ready';
  const every = refreshEvery(range);

  return (
    <div className="inspector-body metrics-panel" data-testid="metrics-tab" data-state={state} data-source={source ?? ''} data-range={range} data-element={element}>
      <div className="row">
        <div className="insp-title">
          Metrics <span className="muted mono">· {element}</span>
        </div>
        <div className="spacer" />
        <div className="metrics-ranges segmented" role="group" aria-label="Time range">
          {METRIC_RANGES.map((r) => {
            const blocked = rangeBlocked(r.key, source);
            return (
              <button
                key={r.key}
                type="button"
                className="seg-btn"
                data-testid={`metrics-range-${r.key}`}
                aria-pressed={range === r.key}
                disabled={!!blocked && range !== r.key}
                title={blocked ?? `The last ${r.label}`}
                onClick={() => setRange(r.key)}
              >
                {r.label}
              </button>
            );
          })}
        </div>
        <button
          type="button"
          className="btn btn-small"
          data-testid="metrics-refresh"
          title="Read again"
          aria-label="Read the metrics again"
          onClick={() => setAgain((n) => n + 1)}
        >
          <Icon name="refresh" size={14} />
        </button>
      </div>

      {kind === 'no_cluster' ? (
        <div className="banner banner-warn" role="alert" data-testid="metrics-no-cluster">
          <div>
            <b>{NO_CLUSTER_METRICS}.</b>
            <div className="small">
              Start <code>backplane serve</code> with <code>NOMAD_ADDR</code> set to see each instance&apos;s CPU, memory and restarts (and{' '}
              <code>BACKPLANE_PROMETHEUS_URL</code> for ranges beyond 15 minutes).
            </div>
            {failure?.message && !/no cluster/i.test(failure.message) && <div className="small muted">{failure.message}</div>}
          </div>
        </div>
      ) : kind === 'needs_prometheus' ? (
        <div className="banner banner-warn" role="alert" data-testid="metrics-error" data-code="needs_prometheus" data-path="range">
          <div>
            <b>The last {range} needs Prometheus.</b>
            <div className="small">{failure?.message}</div>
          </div>
          <button type="button" className="btn btn-small" data-testid="metrics-range-reset" onClick={() => setRange('15m')}>
            Show the last 15 minutes
          </button>
        </div>
      ) : kind === 'unknown_element' ? (
        <div className="banner banner-info" role="status" data-testid="metrics-error" data-code="unknown_element" data-path="element">
          <div>
            <b>{element} is not in the saved schema.</b>
            <div className="small">Save and deploy it to see its metrics.</div>
          </div>
        </div>
      ) : (
        failure && (
          <div className="banner banner-error" role="alert" data-testid="metrics-error" data-code={failure instanceof ApiError ? failure.code : ''} data-path={failure instanceof ApiError ? (failure.path ?? '') : ''}>
            Cannot read the metrics: {errorMessage(failure)}
            {current && <span className="muted small">(showing the last answer)</span>}
          </div>
        )
      )}

      {kind !== 'no_cluster' && (
        <>
          <div className="metrics-status small muted" data-testid="metrics-status">
            {current ? (
              <>
                {current.data.source === 'prometheus' ? 'From Prometheus' : 'From serve’s samples of Nomad (every 5 s, the last 15 minutes)'}
                {' · '}step {current.data.step}
                {every ? ` · refreshed every ${every / 1000} s` : ''}
                {loading && <span className="metrics-loading"> · reading…</span>}
              </>
            ) : kind ? null : (
              'Reading…'
            )}
          </div>

          {instances && instances.length > 0 && <InstancesTable instances={instances} />}

          {current && empty ? (
            <div className="empty small metrics-empty" data-testid="metrics-empty" data-reason={empty}>
              {empty === 'no-instance' ? (
                <>
                  <b>No running instance.</b>
                  <div>Deploy {element} to see its CPU, memory and restarts here.</div>
                </>
              ) : (
                <>
                  <b>No samples yet.</b>
                  <div>They appear within seconds of an instance starting.</div>
                </>
              )}
            </div>
          ) : (
            current && (
              <div className="metrics-charts">
                <MetricChart
                  testid="metrics-chart-cpu"
                  title="CPU"
                  sub={cpuReserved ? `MHz · % of the ${humanMHz(cpuReserved)} reservation` : 'MHz'}
                  data={cpu}
                  theme={theme}
                  sync={`${slug}/${element}`}
                  xRange={xRange}
                  reserve={cpuReserved}
                  reserveLabel="reserved"
                  format={humanMHz}
                  incrs={undefined}
                  height={CHART_HEIGHT}
                />
                <MetricChart
                  testid="metrics-chart-memory"
                  title="Memory"
                  sub={memLimit ? `bytes · % of the ${humanBytes(memLimit)} limit` : 'bytes'}
                  data={memory}
                  theme={theme}
                  sync={`${slug}/${element}`}
                  xRange={xRange}
                  reserve={memLimit}
                  reserveLabel="limit"
                  format={humanBytes}
                  incrs={BYTE_INCRS}
                  height={CHART_HEIGHT}
                />
                <MetricChart
                  testid="metrics-chart-restarts"
                  title="Restarts"
                  sub="count, per instance"
                  data={restarts}
                  theme={theme}
                  sync={`${slug}/${element}`}
                  xRange={xRange}
                  format={humanCount}
                  incrs={COUNT_INCRS}
                  stepped
                  height={RESTARTS_HEIGHT}
                />
              </div>
            )
          )}
        </>
      )}
    </div>
  );
}

// InstancesTable: each instance now, from the latest `metrics` event.
function InstancesTable({ instances }: { instances: MetricsInstance[] }) {
  return (
    <table className="metrics-instances small" data-testid="metrics-instances">
      <thead>
        <tr>
          <th>Instance</th>
          <th>CPU</th>
          <th>Memory</th>
          <th title="Restarts of its tasks">Restarts</th>
        </tr>
      </thead>
      <tbody>
        {instances.map((i) => {
          const ok = !!i.at && !i.error;
          return (
            <tr key={`${i.region}/${i.alloc}`} data-testid={`metrics-instance-${shortAlloc(i.alloc)}`} data-state={i.state ?? ''}>
              <td className="mono" title={`${i.region} · ${i.alloc} (${i.state ?? 'unknown'})${i.started_at ? `, started ${new Date(i.started_at).toLocaleString()}` : ''}`}>
                {seriesLabel(i.region, i.alloc)}
                {i.state && i.state !== 'running' && <span className="muted"> · {i.state}</span>}
              </td>
              {ok ? (
                <>
                  <td>
                    {humanMHz(i.cpu_mhz)}
                    {i.cpu_reserved_mhz ? <span className="muted"> · {humanPercent(i.cpu_percent)}</span> : null}
                  </td>
                  <td>
                    {humanBytes(i.memory_bytes)}
                    {i.memory_limit_bytes ? <span className="muted"> · {humanPercent(i.memory_percent)}</span> : null}
                  </td>
                </>
              ) : (
                <td colSpan={2} className="muted" title={i.error}>
                  {i.error ? `no figures: ${i.error}` : 'no figures yet'}
                </td>
              )}
              <td>{i.restarts ?? 0}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

interface MetricChartProps {
  testid: string;
  title: string;
  sub: string;
  data: ChartData;
  theme: Theme;
  sync: string;
  xRange?: [number, number];
  // reserve: the reservation (or limit) a percentage is of, drawn as a
  // dashed line and as the right axis's 100%.
  reserve?: number;
  reserveLabel?: string;
  format: (v: number | null | undefined) => string;
  incrs?: number[];
  stepped?: boolean;
  height: number;
}

// MetricChart is one metric's chart: a line per instance (its value and,
// in the legend, its percentage), the reservation dashed.
function MetricChart({ testid, title, sub, data, theme, sync, xRange, reserve, reserveLabel, format, incrs, stepped, height }: MetricChartProps) {
  const dataRef = useRef(data);
  dataRef.current = data;
  const withReserve = !!reserve && data.xs.length > 0;
  const [x0, x1] = xRange ?? [undefined, undefined];
  const aligned = useMemo<uPlot.AlignedData>(() => {
    if (!withReserve) return alignedData(data);
    // The reservation spans the whole range: its ends join the times.
    const head = x0 !== undefined && x0 < data.xs[0] ? [x0] : [];
    const tail = x1 !== undefined && x1 > data.xs[data.xs.length - 1] ? [x1] : [];
    const pad = (v: (number | null | undefined)[]) => [...head.map(() => undefined), ...v, ...tail.map(() => undefined)];
    const xs = [...head, ...data.xs, ...tail];
    return [xs, ...data.lines.map((l) => pad(l.values)), xs.map(() => reserve!)];
  }, [data, withReserve, reserve, x0, x1]);
  // The values that line up with the chart's times (the reservation's
  // ends shift them by one).
  const offset = withReserve && x0 !== undefined && data.xs.length > 0 && x0 < data.xs[0] ? 1 : 0;
  const offsetRef = useRef(offset);
  offsetRef.current = offset;
  // A new chart when its lines, the reservation or the theme change.
  const shape = `${theme}|${data.lines.map((l) => l.key).join(',')}|${withReserve ? Math.round(reserve!) : ''}`;

  const options = useCallback((): Omit<uPlot.Options, 'width' | 'height'> => {
    const c = CHART_THEME[theme];
    const axis: uPlot.Axis = {
      stroke: c.muted,
      grid: { stroke: c.grid, width: 1 },
      ticks: { stroke: c.grid, width: 1, size: 4 },
      font: '11px system-ui, sans-serif',
    };
    const lines: uPlot.Series[] = data.lines.map((l, i) => ({
      label: l.label,
      stroke: lineColor(theme, i),
      width: 1.5,
      spanGaps: false,
      ...(stepped ? { paths: steppedPaths() } : {}),
      value: (_u, raw, _si, idx) => {
        const line = dataRef.current.lines[i];
        let v: number | null | undefined = raw;
        let at = idx === null || idx === undefined ? null : idx - offsetRef.current;
        if (at === null) {
          // Not hovering: the latest value.
          at = lastIndex(line?.values ?? []);
          v = at < 0 ? null : line?.values[at];
        }
        if (v === null || v === undefined) return '–';
        const pct = at < 0 ? undefined : line?.percents?.[at];
        return typeof pct === 'number' ? `${format(v)} · ${humanPercent(pct)}` : format(v);
      },
    }));
    const series: uPlot.Series[] = [
      { label: 'Time', value: (_u, v, _si, idx) => (idx === null || idx === undefined || v === null ? 'latest' : new Date(v * 1000).toLocaleTimeString()) },
      ...lines,
    ];
    if (withReserve) {
      series.push({
        label: `${reserveLabel} ${format(reserve)}`,
        stroke: c.reserve,
        width: 1,
        dash: [4, 4],
        points: { show: false },
        value: () => format(reserve),
      });
    }
    const axes: uPlot.Axis[] = [
      { ...axis, space: 60 },
      { ...axis, size: 64, values: (_u, splits) => splits.map((v) => format(v)), ...(incrs ? { incrs } : {}) },
    ];
    const scales: uPlot.Scales = {
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    };
    if (withReserve) {
      scales.pct = { from: 'y', range: (_u, min, max) => [(min / reserve!) * 100, (max / reserve!) * 100] };
      axes.push({ ...axis, scale: 'pct', side: 1, size: 44, grid: { show: false }, values: (_u, splits) => splits.map((v) => humanPercent(v)) });
    }
    return {
      series,
      axes,
      scales,
      cursor: { sync: { key: sync }, drag: { x: false, y: false } },
      legend: { live: true },
    };
    // The chart is made anew when `shape` changes; these are read then.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  return (
    <section className="metrics-chart">
      <div className="metrics-chart-head">
        <b>{title}</b> <span className="muted small">{sub}</span>
      </div>
      <Chart
        testid={testid}
        shape={shape}
        options={options}
        data={aligned}
        counted={data.lines.length}
        height={height}
        xRange={xRange}
        label={`${title} over time, one line per instance`}
      />
    </section>
  );
}

// lastIndex is the index of a line's latest value; -1 without any.
function lastIndex(values: readonly (number | null | undefined)[]): number {
  for (let i = values.length - 1; i >= 0; i--) if (typeof values[i] === 'number') return i;
  return -1;
}

// steppedPaths draws restarts as steps (a count changes at a moment).
function steppedPaths(): uPlot.Series.PathBuilder | undefined {
  return uPlot.paths.stepped?.({ align: 1 });
}
