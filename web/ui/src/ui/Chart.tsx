// Chart is a thin React wrapper around uPlot: it makes the chart when it
// mounts (and anew when `shape` changes: other lines, axes or theme),
// gives it new data otherwise, follows its container's width and destroys
// it when it unmounts. The wrapper's data-points attribute counts the
// values uPlot holds (for tests and for anyone inspecting the page).
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { countPoints } from '../model/metrics';
import type { Theme } from '../theme';

export interface ChartProps {
  testid: string;
  // shape: when it changes, the chart is made anew; the options are read
  // then only.
  shape: string;
  options: () => Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  // counted: how many of the y arrays (from the first) data-points
  // counts (the rest, a reservation line, are not measurements); all when
  // unset.
  counted?: number;
  // height of the plot (the legend comes below it).
  height: number;
  // xRange: the x scale's bounds (unix seconds), so a chart shows its
  // whole time range however few points it has.
  xRange?: [number, number];
  label: string;
}

// The colours the charts draw with, per theme: the canvas does not read
// CSS variables, and the theme's effect runs after the charts' (so
// getComputedStyle would still see the previous theme). Kept in step with
// styles.css.
export const CHART_THEME: Record<Theme, { text: string; muted: string; grid: string; reserve: string; lines: string[] }> = {
  dark: {
    text: '#e5e9ef',
    muted: '#8a94a3',
    grid: 'rgba(138, 148, 163, 0.16)',
    reserve: '#8a94a3',
    lines: ['#60a5fa', '#34d399', '#fbbf24', '#c084fc', '#f472b6', '#22d3ee', '#a3e635', '#fb923c', '#f87171', '#94a3b8'],
  },
  light: {
    text: '#1b2028',
    muted: '#667085',
    grid: 'rgba(102, 112, 133, 0.16)',
    reserve: '#98a2b3',
    lines: ['#2563eb', '#059669', '#d97706', '#9333ea', '#db2777', '#0891b2', '#65a30d', '#ea580c', '#dc2626', '#475569'],
  },
};

export function lineColor(theme: Theme, i: number): string {
  const l = CHART_THEME[theme].lines;
  return l[i % l.length];
}

const FALLBACK_WIDTH = 320;

export function Chart({ testid, shape, options, data, counted, height, xRange, label }: ChartProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const dataRef = useRef(data);
  dataRef.current = data;
  const xRangeRef = useRef(xRange);
  xRangeRef.current = xRange;
  const countedRef = useRef(counted);
  countedRef.current = counted;

  const mark = (u: uPlot) => {
    const el = wrap.current;
    if (!el) return;
    const n = countedRef.current;
    const arrays = u.data as ArrayLike<number | null | undefined>[];
    el.dataset.points = String(countPoints(n === undefined ? arrays : arrays.slice(0, n + 1)));
    el.dataset.series = String(n ?? Math.max(0, u.series.length - 1));
  };

  // Make the chart (again when its shape changes); destroy it on unmount.
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const o = optionsRef.current();
    const opts: uPlot.Options = {
      ...o,
      width: el.clientWidth || FALLBACK_WIDTH,
      height,
      scales: {
        ...o.scales,
        x: {
          time: true,
          ...o.scales?.x,
          range: (_u, min, max) => xRangeRef.current ?? [min, max],
        },
      },
    };
    const u = new uPlot(opts, dataRef.current, el);
    plot.current = u;
    mark(u);
    let width = el.clientWidth;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && w !== width) {
        width = w;
        u.setSize({ width: w, height });
      }
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      if (plot.current === u) plot.current = null;
    };
  }, [shape, height]);

  // New data for the same shape: set it (the scales follow).
  const [x0, x1] = xRange ?? [undefined, undefined];
  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    if (u.data !== data) {
      u.setData(data);
      mark(u);
    } else if (x0 !== undefined && x1 !== undefined) {
      u.setScale('x', { min: x0, max: x1 });
    }
  }, [data, x0, x1]);

  return <div className="chart" ref={wrap} data-testid={testid} role="img" aria-label={label} />;
}
