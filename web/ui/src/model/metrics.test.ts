import { describe, expect, it } from 'vitest';
import {
  alignedData,
  chartData,
  countPoints,
  durationText,
  elementInstances,
  emptyState,
  failureOf,
  humanBytes,
  humanCount,
  humanMHz,
  humanPercent,
  levelOf,
  metricsQuery,
  METRIC_RANGES,
  nodeFigure,
  nodeFigures,
  rangeBlocked,
  refreshEvery,
  reservation,
  seriesLabel,
  shortAlloc,
  stepFor,
  stepSeconds,
  type MetricSeries,
  type MetricsInstance,
  type MetricsRange,
} from './metrics';

const A = 'a1b2c3d4-0000-4000-8000-000000000001';
const B = 'b9f8e7d6-0000-4000-8000-000000000002';
const C = 'c0c0c0c0-0000-4000-8000-000000000003';

const series = (alloc: string, region: string, metric: string, points: [number, number][]): MetricSeries => ({
  element: 'api',
  region,
  alloc,
  metric,
  unit: '',
  points,
});

describe('chartData', () => {
  it('aligns instances sampled at different times on the union of their timestamps', () => {
    const d = chartData(
      [
        series(B, 'eu', 'memory_bytes', [
          [105, 20],
          [120, 21],
        ]),
        series(A, 'eu', 'memory_bytes', [
          [100, 10],
          [115, 11],
          [130, 12],
        ]),
        series(A, 'eu', 'cpu_mhz', [[100, 99]]),
      ],
      'memory_bytes',
    );
    expect(d.xs).toEqual([100, 105, 115, 120, 130]);
    // Lines by region, then alloc ID: A before B whatever the order sent.
    expect(d.lines.map((l) => l.alloc)).toEqual([A, B]);
    expect(d.lines[0].label).toBe('eu · a1b2c3d4');
    // undefined where a line has no sample: uPlot draws through it.
    expect(d.lines[0].values).toEqual([10, undefined, 11, undefined, 12]);
    expect(d.lines[1].values).toEqual([undefined, 20, undefined, 21, undefined]);
    expect(alignedData(d)).toEqual([d.xs, d.lines[0].values, d.lines[1].values]);
  });

  it('orders lines by region, then alloc', () => {
    const d = chartData(
      [series(A, 'us', 'cpu_mhz', [[1, 1]]), series(C, 'eu', 'cpu_mhz', [[1, 2]]), series(B, 'eu', 'cpu_mhz', [[2, 3]])],
      'cpu_mhz',
    );
    expect(d.lines.map((l) => l.label)).toEqual(['eu · b9f8e7d6', 'eu · c0c0c0c0', 'us · a1b2c3d4']);
  });

  it('breaks a line where its samples are more than 2.5 steps apart', () => {
    const d = chartData(
      [
        series(A, 'eu', 'cpu_mhz', [
          [0, 1],
          [15, 2],
          [90, 3],
          [105, 4],
        ]),
        series(B, 'eu', 'cpu_mhz', [
          [30, 5],
          [45, 5],
          [60, 5],
        ]),
      ],
      'cpu_mhz',
      { step: 15 },
    );
    expect(d.xs).toEqual([0, 15, 30, 45, 60, 90, 105]);
    // A: null (a gap) at the first time after 15 s, undefined after it.
    expect(d.lines[0].values).toEqual([1, 2, null, undefined, undefined, 3, 4]);
    expect(d.lines[1].values).toEqual([undefined, undefined, 5, 5, 5, undefined, undefined]);
  });

  it('carries the percentages of the same instance at the same times', () => {
    const d = chartData(
      [
        series(A, 'eu', 'cpu_mhz', [
          [10, 25],
          [20, 50],
        ]),
        series(A, 'eu', 'cpu_percent', [
          [10, 25],
          [20, 50],
        ]),
        series(B, 'eu', 'cpu_mhz', [[15, 10]]),
        series(B, 'eu', 'cpu_percent', [[15, 10]]),
      ],
      'cpu_mhz',
      { percent: 'cpu_percent' },
    );
    expect(d.xs).toEqual([10, 15, 20]);
    expect(d.lines[0].percents).toEqual([25, undefined, 50]);
    expect(d.lines[1].percents).toEqual([undefined, 10, undefined]);
    expect(reservation(d.lines)).toBe(100);
  });

  it('is empty without series or points, and skips other metrics', () => {
    expect(chartData(null, 'cpu_mhz')).toEqual({ xs: [], lines: [] });
    expect(chartData([series(A, 'eu', 'cpu_mhz', [])], 'cpu_mhz')).toEqual({ xs: [], lines: [] });
    expect(chartData([{ ...series(A, 'eu', 'cpu_mhz', []), points: null }], 'cpu_mhz').lines).toEqual([]);
    expect(chartData([series(A, 'eu', 'restarts', [[1, 0]])], 'memory_bytes').lines).toEqual([]);
  });

  it('counts the points a chart draws', () => {
    const d = chartData(
      [
        series(A, 'eu', 'memory_bytes', [
          [1, 5],
          [2, 6],
        ]),
        series(B, 'eu', 'memory_bytes', [[3, 0]]),
      ],
      'memory_bytes',
    );
    expect(countPoints(alignedData(d))).toBe(3);
    expect(countPoints([[1, 2]])).toBe(0);
    expect(countPoints([[1, 2, 3], [null, undefined, 4]])).toBe(1);
  });
});

describe('units', () => {
  it('writes bytes in powers of 1024', () => {
    expect(humanBytes(0)).toBe('0 B');
    expect(humanBytes(512)).toBe('512 B');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(humanBytes(20 * 1024 * 1024 + 300_000)).toBe('20 MiB');
    expect(humanBytes(128 * 1024 * 1024)).toBe('128 MiB');
    expect(humanBytes(1024 * 1024 - 1)).toBe('1 MiB');
    expect(humanBytes(1.25 * 1024 ** 3)).toBe('1.3 GiB');
    expect(humanBytes(undefined)).toBe('–');
    expect(humanBytes(NaN)).toBe('–');
  });

  it('writes MHz, percentages and counts', () => {
    expect(humanMHz(0)).toBe('0 MHz');
    expect(humanMHz(2.46)).toBe('2.5 MHz');
    expect(humanMHz(250.4)).toBe('250 MHz');
    expect(humanMHz(1234)).toBe('1.2 GHz');
    expect(humanPercent(0)).toBe('0%');
    expect(humanPercent(0.04)).toBe('<0.1%');
    expect(humanPercent(2.54)).toBe('2.5%');
    expect(humanPercent(61.4)).toBe('61%');
    expect(humanPercent(null)).toBe('–');
    expect(humanCount(3)).toBe('3');
    expect(humanCount(0.5)).toBe('0.5');
  });

  it('names an instance by region and short alloc ID', () => {
    expect(shortAlloc(A)).toBe('a1b2c3d4');
    expect(seriesLabel('eu', A)).toBe('eu · a1b2c3d4');
  });
});

describe('ranges and steps', () => {
  it('chooses a round step giving about 120 points at most', () => {
    expect(METRIC_RANGES.map((r) => [r.key, durationText(stepFor(r.seconds))])).toEqual([
      ['15m', '15s'],
      ['1h', '30s'],
      ['6h', '3m'],
      ['24h', '15m'],
      ['7d', '2h'],
    ]);
    expect(stepFor(60)).toBe(15); // never below three 5-second samples
    expect(stepFor(10 * 365 * 86400)).toBe(86400);
  });

  it('writes durations the API reads', () => {
    expect(durationText(0)).toBe('0s');
    expect(durationText(15)).toBe('15s');
    expect(durationText(150)).toBe('2m30s');
    expect(durationText(5400)).toBe('1h30m');
    expect(durationText(86400)).toBe('24h');
  });

  it('builds the range query', () => {
    expect(metricsQuery('api', '15m')).toBe('element=api&range=15m&step=15s');
    expect(metricsQuery('api', '6h', 'eu')).toBe('element=api&region=eu&range=6h&step=3m');
  });

  it('blocks ranges beyond 15 minutes without Prometheus', () => {
    expect(rangeBlocked('15m', 'nomad')).toBeUndefined();
    expect(rangeBlocked('1h', 'nomad')).toMatch(/Prometheus/);
    expect(rangeBlocked('7d', 'nomad')).toMatch(/BACKPLANE_PROMETHEUS_URL/);
    expect(rangeBlocked('7d', 'prometheus')).toBeUndefined();
    expect(rangeBlocked('24h', undefined)).toBeUndefined();
  });

  it('refreshes short ranges every 5 to 10 s', () => {
    expect(refreshEvery('15m')).toBe(5_000);
    expect(refreshEvery('1h')).toBe(10_000);
    expect(refreshEvery('6h')).toBe(60_000);
    expect(refreshEvery('7d')).toBe(0);
  });
});

const inst = (alloc: string, region: string, extra: Partial<MetricsInstance> = {}): MetricsInstance => ({
  element: 'api',
  region,
  alloc,
  state: 'running',
  cpu_mhz: 12,
  cpu_reserved_mhz: 100,
  cpu_percent: 12,
  memory_bytes: 78 << 20,
  memory_limit_bytes: 128 << 20,
  memory_percent: 61,
  restarts: 0,
  at: '2026-05-01T12:00:00Z',
  ...extra,
});

describe('node figure', () => {
  it('shows the highest CPU and memory of the element’s instances', () => {
    const f = nodeFigure([inst(A, 'eu', { cpu_percent: 12.2, memory_percent: 40 }), inst(B, 'us', { cpu_percent: 3, memory_percent: 61.2 })]);
    expect(f?.text).toBe('CPU 12% · MEM 61%');
    expect(f?.cpu).toBe(12.2);
    expect(f?.memory).toBe(61.2);
    expect(f?.instances).toBe(2);
    expect(f?.level).toBe('ok');
    expect(f?.title).toContain('Highest of 2 instances');
    expect(f?.title).toContain('eu · a1b2c3d4: CPU 12 MHz of 100 MHz (12%), memory 78 MiB of 128 MiB (40%), 0 restarts');
  });

  it('skips instances without figures, and is absent when none has any', () => {
    const f = nodeFigure([inst(A, 'eu', { cpu_percent: 99 , at: undefined, state: 'pending' }), inst(B, 'eu', { cpu_percent: 5, memory_percent: 10 })]);
    expect(f?.text).toBe('CPU 5% · MEM 10%');
    expect(f?.title).toContain('eu · a1b2c3d4: starting');
    expect(nodeFigure([inst(A, 'eu', { at: undefined })])).toBeUndefined();
    expect(nodeFigure([inst(A, 'eu', { error: 'stats: timeout' })])).toBeUndefined();
    expect(nodeFigure([])).toBeUndefined();
  });

  it('falls back to MHz and bytes where nothing is reserved', () => {
    const f = nodeFigure([inst(A, 'eu', { cpu_reserved_mhz: 0, cpu_percent: 0, cpu_mhz: 42, memory_limit_bytes: 0, memory_percent: 0, memory_bytes: 3 << 20 })]);
    expect(f?.text).toBe('CPU 42 MHz · MEM 3 MiB');
    expect(f?.cpu).toBeUndefined();
  });

  it('colours by the highest percentage', () => {
    expect(levelOf(undefined)).toBe('ok');
    expect(levelOf(79.9)).toBe('ok');
    expect(levelOf(80)).toBe('warn');
    expect(levelOf(120)).toBe('high');
    expect(nodeFigure([inst(A, 'eu', { memory_percent: 96 })])?.level).toBe('high');
    expect(nodeFigure([inst(A, 'eu', { cpu_percent: 85 })])?.level).toBe('warn');
  });

  it('lists at most 5 instances for the status card', () => {
    const many = Array.from({ length: 7 }, (_, i) => inst(`${i}0000000-0000`, 'eu'));
    const f = nodeFigure(many);
    expect(f?.lines).toHaveLength(5);
    expect(f?.lines[4]).toBe('and 3 more instances');
    expect(f?.title.split('\n')).toHaveLength(8);
  });

  it('maps a snapshot to each element with figures', () => {
    const m = nodeFigures({
      instances: [inst(A, 'eu'), { ...inst(B, 'eu'), element: 'db', cpu_percent: 2, memory_percent: 7 }, { ...inst(C, 'eu'), element: 'idle', at: undefined }],
    });
    expect(Object.keys(m).sort()).toEqual(['api', 'db']);
    expect(m.db.text).toBe('CPU 2% · MEM 7%');
    expect(nodeFigures(null)).toEqual({});
    expect(nodeFigures({ instances: null })).toEqual({});
  });

  it('lists an element’s instances, or nothing known without a snapshot', () => {
    const snap = { instances: [inst(B, 'us'), inst(A, 'us'), { ...inst(C, 'eu'), element: 'db' }] };
    expect(elementInstances(snap, 'api')?.map((i) => i.alloc)).toEqual([A, B]);
    expect(elementInstances(snap, 'none')).toEqual([]);
    expect(elementInstances(null, 'api')).toBeUndefined();
  });
});

describe('empty and failed reads', () => {
  const withPoints: MetricsRange = { source: 'nomad', range: '15m', step: '15s', series: [series(A, 'eu', 'cpu_mhz', [[1, 1]])] };
  const none: MetricsRange = { source: 'nomad', range: '15m', step: '15s', series: [] };

  it('tells no instance from no samples yet', () => {
    expect(emptyState(withPoints, [])).toBe('');
    expect(emptyState(none, [])).toBe('no-instance');
    expect(emptyState(none, [inst(A, 'eu')])).toBe('no-samples');
    expect(emptyState(none, undefined)).toBe('no-samples');
    expect(emptyState(null, undefined)).toBe('no-samples');
  });

  it('sorts the errors of a range read', () => {
    expect(failureOf({ status: 503, code: 'no_cluster' })).toBe('no_cluster');
    expect(failureOf({ status: 400, code: 'bad_request', path: 'range', message: 'ranges beyond 15m0s need Prometheus (BACKPLANE_PROMETHEUS_URL)' })).toBe(
      'needs_prometheus',
    );
    expect(failureOf({ status: 400, code: 'bad_request', path: 'range', message: '"2w" is not a range' })).toBe('bad_range');
    expect(failureOf({ status: 400, code: 'bad_request', path: 'element', message: 'no element web in the schema' })).toBe('unknown_element');
    expect(failureOf({ status: 502, code: 'prometheus_error' })).toBe('other');
  });

  it('reads the step of an answer', () => {
    expect(stepSeconds('15s')).toBe(15);
    expect(stepSeconds('3m0s')).toBe(180);
    expect(stepSeconds('')).toBe(0);
    expect(stepSeconds('soon')).toBe(0);
  });
});
