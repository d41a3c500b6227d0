// Metrics as the editor shows them (web/API.md, Metrics): an element's
// series over a range as uPlot's aligned data, the range picker's choices
// and steps, human units, and the live figure on each node from the
// `metrics` events. Pure: no React, no fetch, no uPlot.
import { parseGoDuration } from './alerts';

// Metric names, as the API sends them (observe/metrics/types.go).
export type MetricName = 'cpu_mhz' | 'cpu_percent' | 'memory_bytes' | 'memory_percent' | 'restarts';

// MetricSeries is one metric of one instance over time; points are
// [unix seconds, value].
export interface MetricSeries {
  element: string;
  region: string;
  alloc: string;
  metric: MetricName | string;
  unit?: string;
  points: [number, number][] | null;
}

// MetricsRange is the answer of GET /projects/{p}/metrics. source is
// "nomad" (serve's own samples of the last 15 minutes) or "prometheus".
export interface MetricsRange {
  source: 'nomad' | 'prometheus' | string;
  range: string;
  step: string;
  series: MetricSeries[] | null;
}

// MetricsInstance is one instance now (GET /projects/{p}/metrics/now and
// the `metrics` event). at is unset while it runs no task yet or when its
// stats could not be read (error says why).
export interface MetricsInstance {
  element: string;
  region: string;
  alloc: string;
  state?: string;
  cpu_mhz?: number;
  cpu_reserved_mhz?: number;
  cpu_percent?: number;
  memory_bytes?: number;
  memory_limit_bytes?: number;
  memory_percent?: number;
  restarts?: number;
  started_at?: string;
  at?: string;
  error?: string;
}

export interface MetricsSnapshot {
  instances: MetricsInstance[] | null;
  at?: string;
}

// ---- ranges and steps ----

export type MetricsRangeKey = '15m' | '1h' | '6h' | '24h' | '7d';

export const METRIC_RANGES: readonly { key: MetricsRangeKey; label: string; seconds: number }[] = [
  { key: '15m', label: '15m', seconds: 15 * 60 },
  { key: '1h', label: '1h', seconds: 3600 },
  { key: '6h', label: '6h', seconds: 6 * 3600 },
  { key: '24h', label: '24h', seconds: 24 * 3600 },
  { key: '7d', label: '7d', seconds: 7 * 24 * 3600 },
];

export const DEFAULT_METRICS_RANGE: MetricsRangeKey = '15m';

// NOMAD_WINDOW is how far back serve's own samples go (without
// Prometheus): observe/metrics.MaxNomadRange.
export const NOMAD_WINDOW = 15 * 60;

// NEEDS_PROMETHEUS is the tooltip of a range serve's own samples cannot
// answer.
export const NEEDS_PROMETHEUS =
  'Needs Prometheus: without it serve keeps only the last 15 minutes of its own samples (start serve with BACKPLANE_PROMETHEUS_URL)';

export function isMetricsRange(s: string): s is MetricsRangeKey {
  return METRIC_RANGES.some((r) => r.key === s);
}

export function rangeSeconds(key: MetricsRangeKey): number {
  return METRIC_RANGES.find((r) => r.key === key)?.seconds ?? NOMAD_WINDOW;
}

// rangeBlocked says why a range cannot be asked for, given the source of
// the last answer (undefined: not known yet, so nothing is blocked).
export function rangeBlocked(key: MetricsRangeKey, source: string | undefined): string | undefined {
  if (source === 'nomad' && rangeSeconds(key) > NOMAD_WINDOW) return NEEDS_PROMETHEUS;
  return undefined;
}

// STEPS are the steps a range is read at, in seconds: round ones, the
// smallest 15 s (three of serve's 5-second samples to a point).
const STEPS = [15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

// TARGET_POINTS is about how many points a chart gets at most.
const TARGET_POINTS = 120;

// stepFor is the step for a range of `seconds`: the smallest round step
// giving at most about 120 points (15m → 15s, 1h → 30s, 6h → 3m,
// 24h → 15m, 7d → 2h).
export function stepFor(seconds: number): number {
  const want = seconds / TARGET_POINTS;
  return STEPS.find((s) => s >= want) ?? STEPS[STEPS.length - 1];
}

// durationText writes seconds as a Go-style duration the API reads back
// (15s, 3m, 2h, 1h30m, 2m30s).
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s === 0) return '0s';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${r ? `${r}s` : ''}`;
}

// metricsQuery is the query string of a range read.
export function metricsQuery(element: string, key: MetricsRangeKey, region?: string): string {
  const q = new URLSearchParams({ element });
  if (region) q.set('region', region);
  q.set('range', key);
  q.set('step', durationText(stepFor(rangeSeconds(key))));
  return q.toString();
}

// refreshEvery is how often a range is read again, in ms: every 5 s for
// the last 15 minutes, 10 s for the last hour, a minute for 6 hours;
// longer ranges only on demand (0).
export function refreshEvery(key: MetricsRangeKey): number {
  switch (key) {
    case '15m':
      return 5_000;
    case '1h':
      return 10_000;
    case '6h':
      return 60_000;
    default:
      return 0;
  }
}

// ---- human units ----

// trim writes v with one decimal under 10 and none from there.
function trim(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 10) return (Math.round(v * 10) / 10).toString();
  return Math.round(v).toString();
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

// humanBytes: 0 B, 512 B, 1.5 KiB, 20 MiB, 1.2 GiB (powers of 1024, as
// Nomad's memory settings).
export function humanBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  // 1023.9 KiB would print as "1024 KiB": call it the next unit.
  if (i < BYTE_UNITS.length - 1 && Math.round(v) >= 1024) {
    v /= 1024;
    i++;
  }
  return `${n < 0 ? '-' : ''}${i === 0 ? Math.round(v) : trim(v)} ${BYTE_UNITS[i]}`;
}

// humanMHz: 0 MHz, 2.5 MHz, 250 MHz, 1.2 GHz.
export function humanMHz(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1000) return `${trim(n / 1000)} GHz`;
  return `${trim(n)} MHz`;
}

// humanPercent: 0%, <0.1%, 2.5%, 61%.
export function humanPercent(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n > 0 && n < 0.1) return '<0.1%';
  return `${trim(n)}%`;
}

// humanCount: a whole number, or one decimal for an average.
export function humanCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Number.isInteger(n) ? String(n) : trim(n);
}

// shortAlloc is the first 8 characters of an allocation ID, as Nomad's
// CLI shows them.
export function shortAlloc(id: string): string {
  return id.slice(0, 8);
}

// seriesLabel names one instance's line: region and short alloc ID.
export function seriesLabel(region: string, alloc: string): string {
  return `${region || '?'} · ${shortAlloc(alloc)}`;
}

// ---- series → uPlot's aligned data ----

// ChartLine is one line of a chart: an instance, its values on the shared
// x axis and, for CPU and memory, its percentages at the same times.
export interface ChartLine {
  key: string; // region/alloc
  region: string;
  alloc: string;
  label: string;
  values: (number | null | undefined)[];
  percents?: (number | null | undefined)[];
}

// ChartData is what one chart draws: the sorted union of every line's
// timestamps (unix seconds), and one array per line aligned with it.
// undefined in a line: it has no sample at that time but is drawn through
// it (another instance was sampled then); null: a gap (no sample for a
// while, e.g. while it restarted), where the line breaks.
export interface ChartData {
  xs: number[];
  lines: ChartLine[];
}

// GAP_STEPS: a line breaks where its samples are more than this many
// steps apart.
const GAP_STEPS = 2.5;

function compareLines(a: { region: string; alloc: string }, b: { region: string; alloc: string }): number {
  return a.region === b.region ? (a.alloc < b.alloc ? -1 : a.alloc > b.alloc ? 1 : 0) : a.region < b.region ? -1 : 1;
}

// chartData turns the series of one metric (and, optionally, its
// percentage metric) into aligned data: one line per instance (region,
// then alloc ID), on the union of their timestamps. step (seconds) says
// how far apart samples should be, for finding gaps; 0 finds none.
export function chartData(series: readonly MetricSeries[] | null | undefined, metric: MetricName, opts: { percent?: MetricName; step?: number } = {}): ChartData {
  const list = series ?? [];
  const mine = list.filter((s) => s.metric === metric && (s.points?.length ?? 0) > 0);
  const xset = new Set<number>();
  for (const s of mine) for (const [t] of s.points!) if (Number.isFinite(t)) xset.add(t);
  const xs = [...xset].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const gap = (opts.step ?? 0) > 0 ? (opts.step as number) * GAP_STEPS : Infinity;

  // One series per instance: should two come for the same one (they do
  // not), their points are merged.
  const byKey = new Map<string, { region: string; alloc: string; points: [number, number][] }>();
  for (const s of mine) {
    const key = `${s.region}/${s.alloc}`;
    const cur = byKey.get(key);
    if (cur) cur.points = cur.points.concat(s.points!);
    else byKey.set(key, { region: s.region, alloc: s.alloc, points: [...s.points!] });
  }

  const place = (points: [number, number][]) => {
    const out: (number | null | undefined)[] = new Array(xs.length).fill(undefined);
    const sorted = points.filter(([t]) => index.has(t)).sort((a, b) => a[0] - b[0]);
    let prev: number | undefined;
    for (const [t, v] of sorted) {
      const i = index.get(t)!;
      if (prev !== undefined && t - prev > gap) {
        // The first time between the two samples breaks the line.
        const j = index.get(prev)! + 1;
        if (j < i) out[j] = null;
      }
      out[i] = Number.isFinite(v) ? v : null;
      prev = t;
    }
    return out;
  };

  const pct = opts.percent;
  const lines: ChartLine[] = [...byKey.entries()]
    .map(([key, s]) => {
      const line: ChartLine = { key, region: s.region, alloc: s.alloc, label: seriesLabel(s.region, s.alloc), values: place(s.points) };
      if (pct) {
        const ps = list.filter((x) => x.metric === pct && x.region === s.region && x.alloc === s.alloc).flatMap((x) => x.points ?? []);
        line.percents = place(ps);
      }
      return line;
    })
    .sort(compareLines);
  return { xs, lines };
}

// alignedData is a chart's data as uPlot takes it: [xs, ...one array per
// line].
export function alignedData(d: ChartData): [number[], ...(number | null | undefined)[][]] {
  return [d.xs, ...d.lines.map((l) => l.values)];
}

// countPoints counts the values a chart draws (numbers, in every line
// but the first array, the xs).
export function countPoints(data: readonly ArrayLike<number | null | undefined>[]): number {
  let n = 0;
  for (let i = 1; i < data.length; i++) {
    const ys = data[i];
    for (let j = 0; j < ys.length; j++) if (typeof ys[j] === 'number' && Number.isFinite(ys[j])) n++;
  }
  return n;
}

// hasPoints reports whether an answer holds any point at all.
export function hasPoints(r: MetricsRange | null | undefined): boolean {
  return (r?.series ?? []).some((s) => (s.points?.length ?? 0) > 0);
}

// reservation is the figure a percentage is of (the CPU reservation in
// MHz, the memory limit in bytes), from a value and its percentage at
// the same time: the first pair with both above zero.
export function reservation(lines: readonly ChartLine[]): number | undefined {
  for (const l of lines) {
    if (!l.percents) continue;
    for (let i = 0; i < l.values.length; i++) {
      const v = l.values[i];
      const p = l.percents[i];
      if (typeof v === 'number' && typeof p === 'number' && v > 0 && p > 0) return (v * 100) / p;
    }
  }
  return undefined;
}

// ---- the live figure on each node ----

// Level colours a figure: warn from 80%, high from 95%.
export type Level = 'ok' | 'warn' | 'high';

export function levelOf(percent: number | undefined): Level {
  if (percent === undefined) return 'ok';
  if (percent >= 95) return 'high';
  if (percent >= 80) return 'warn';
  return 'ok';
}

// NodeFigure is what an element's node shows: the highest CPU and memory
// use among its measured instances, as a percentage of the reservation
// (or, where the job reserves none, in MHz and bytes).
export interface NodeFigure {
  text: string; // "CPU 12% · MEM 61%"
  title: string; // a head line, then lines
  lines: string[]; // one per instance, by region then alloc (at most 5 for the status card)
  cpu?: number; // the highest cpu_percent
  memory?: number; // the highest memory_percent
  level: Level;
  instances: number;
}

function measured(i: MetricsInstance): boolean {
  return !!i.at && !i.error;
}

function instanceLine(i: MetricsInstance): string {
  const head = `${seriesLabel(i.region, i.alloc)}`;
  if (!measured(i)) return `${head}: ${i.error ? `no figures (${i.error})` : i.state === 'pending' ? 'starting' : 'no figures yet'}`;
  const cpu = i.cpu_reserved_mhz
    ? `CPU ${humanMHz(i.cpu_mhz)} of ${humanMHz(i.cpu_reserved_mhz)} (${humanPercent(i.cpu_percent)})`
    : `CPU ${humanMHz(i.cpu_mhz)}`;
  const mem = i.memory_limit_bytes
    ? `memory ${humanBytes(i.memory_bytes)} of ${humanBytes(i.memory_limit_bytes)} (${humanPercent(i.memory_percent)})`
    : `memory ${humanBytes(i.memory_bytes)}`;
  const r = i.restarts ?? 0;
  return `${head}: ${cpu}, ${mem}, ${r} restart${r === 1 ? '' : 's'}`;
}

// CARD_LINES: the status card lists at most this many instances.
const CARD_LINES = 5;

// nodeFigure is one element's figure from its instances; undefined when
// none of them has figures (nothing shows).
export function nodeFigure(instances: readonly MetricsInstance[]): NodeFigure | undefined {
  const ms = instances.filter(measured);
  if (!ms.length) return undefined;
  const maxOf = (f: (i: MetricsInstance) => number | undefined) => {
    let m: number | undefined;
    for (const i of ms) {
      const v = f(i);
      if (v !== undefined && Number.isFinite(v) && (m === undefined || v > m)) m = v;
    }
    return m;
  };
  const cpu = maxOf((i) => (i.cpu_reserved_mhz ? (i.cpu_percent ?? 0) : undefined));
  const memory = maxOf((i) => (i.memory_limit_bytes ? (i.memory_percent ?? 0) : undefined));
  const cpuText = cpu !== undefined ? humanPercent(cpu) : humanMHz(maxOf((i) => i.cpu_mhz ?? 0));
  const memText = memory !== undefined ? humanPercent(memory) : humanBytes(maxOf((i) => i.memory_bytes ?? 0));
  const lvl = [levelOf(cpu), levelOf(memory)];
  const level: Level = lvl.includes('high') ? 'high' : lvl.includes('warn') ? 'warn' : 'ok';
  const sorted = [...instances].sort(compareLines);
  const head = ms.length > 1 ? `Highest of ${ms.length} instances` : 'Now';
  const all = sorted.map(instanceLine);
  const lines = all.length > CARD_LINES ? [...all.slice(0, CARD_LINES - 1), `and ${all.length - CARD_LINES + 1} more instances`] : all;
  return {
    text: `CPU ${cpuText} · MEM ${memText}`,
    title: `${head}:\n${all.join('\n')}`,
    lines,
    cpu,
    memory,
    level,
    instances: ms.length,
  };
}

// nodeFigures is every element's figure from a project's snapshot; an
// element without figures has no entry.
export function nodeFigures(snap: MetricsSnapshot | null | undefined): Record<string, NodeFigure> {
  const by: Record<string, MetricsInstance[]> = {};
  for (const i of snap?.instances ?? []) if (i.element) (by[i.element] ??= []).push(i);
  const out: Record<string, NodeFigure> = {};
  for (const [el, list] of Object.entries(by)) {
    const f = nodeFigure(list);
    if (f) out[el] = f;
  }
  return out;
}

// elementInstances is one element's instances in a snapshot, by region
// then alloc; undefined when there is no snapshot.
export function elementInstances(snap: MetricsSnapshot | null | undefined, element: string): MetricsInstance[] | undefined {
  if (!snap) return undefined;
  return (snap.instances ?? []).filter((i) => i.element === element).sort(compareLines);
}

// stepSeconds reads the step of an answer (a Go duration: "15s",
// "3m0s"); 0 when it does not parse.
export function stepSeconds(step: string | undefined): number {
  const ms = parseGoDuration(step ?? '');
  return ms && ms > 0 ? ms / 1000 : 0;
}

// ---- what a failed read means ----

export type MetricsFailure = 'no_cluster' | 'needs_prometheus' | 'bad_range' | 'unknown_element' | 'other';

// NO_CLUSTER_METRICS is what the Metrics tab says without a cluster.
export const NO_CLUSTER_METRICS = 'No cluster connected: metrics come from Nomad';

// failureOf sorts an error answer of a range read (status, code, path,
// message).
export function failureOf(e: { status?: number; code?: string; path?: string; message?: string }): MetricsFailure {
  if (e.code === 'no_cluster' || (e.status === 503 && !e.code)) return 'no_cluster';
  if (e.status === 400 && e.path === 'range') return /prometheus/i.test(e.message ?? '') ? 'needs_prometheus' : 'bad_range';
  // Not in the saved head revision (new, renamed, unsaved): nothing of it
  // runs.
  if (e.status === 400 && e.path === 'element') return 'unknown_element';
  return 'other';
}

// ---- empty states ----

export type EmptyState = '' | 'no-instance' | 'no-samples';

// emptyState says why a chart would be empty: the element runs no
// instance (instances known and none), or none was sampled yet (they
// appear within seconds); '' when there are points to draw.
export function emptyState(r: MetricsRange | null | undefined, instances: readonly MetricsInstance[] | undefined): EmptyState {
  if (hasPoints(r)) return '';
  if (instances && instances.length === 0) return 'no-instance';
  return 'no-samples';
}
