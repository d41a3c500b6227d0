// Pure logic of the Logs views (an element's Logs tab and a project's Logs
// page): the filters and the query strings of GET /projects/{p}/logs and
// /logs/tail (web/API.md, Logs), time ranges, the match highlighted in a
// line, error-looking lines, and merging pages and live lines into the
// bounded list the view keeps.
import type { Deployment } from '../api';

// LogLine is one line as the API sends it (observe/logs.Line).
export interface LogLine {
  ts: string; // RFC 3339 with up to nine fraction digits
  element: string;
  region: string;
  alloc: string;
  task: string;
  stream: string;
  line: string;
}

// Level marks a line: `error` when its text looks like an error
// (ERROR_RE), `stderr` when it only came on stderr, `` otherwise.
export type Level = '' | 'stderr' | 'error';

// ShownLine is a line as the view keeps it: with its identity, a key that
// sorts by time, and its level, each worked out once.
export interface ShownLine extends LogLine {
  key: string;
  sk: string;
  level: Level;
  // live: it came from the live tail (the view flashes it once).
  live?: boolean;
}

// MAX_LINES is how many lines a view keeps in memory (and in the page):
// past it, loading older lines stops and the live tail drops the oldest.
export const MAX_LINES = 5000;
// PAGE_SIZE is how many lines one search (and "Load older") asks for.
export const PAGE_SIZE = 500;
// TAIL_BACKFILL is how many earlier lines a tail may replay when it opens
// from the newest line shown (they are deduplicated).
export const TAIL_BACKFILL = 500;
// MAX_SHOWN_CHARS is how much of one line is drawn until it is expanded.
export const MAX_SHOWN_CHARS = 2000;

export type Stream = '' | 'stdout' | 'stderr';
export const STREAMS: readonly Stream[] = ['', 'stdout', 'stderr'];

export type RangeKey = '5m' | '15m' | '1h' | '6h' | '24h' | '7d' | 'custom' | 'deploy';

export const RANGES: readonly { key: RangeKey; label: string }[] = [
  { key: '5m', label: 'Last 5 minutes' },
  { key: '15m', label: 'Last 15 minutes' },
  { key: '1h', label: 'Last hour' },
  { key: '6h', label: 'Last 6 hours' },
  { key: '24h', label: 'Last 24 hours' },
  { key: '7d', label: 'Last 7 days' },
  { key: 'custom', label: 'Custom range…' },
  { key: 'deploy', label: 'Since the last deploy' },
];

const PRESETS = new Set<string>(['5m', '15m', '1h', '6h', '24h', '7d']);

export function isRangeKey(s: string): s is RangeKey {
  return PRESETS.has(s) || s === 'custom' || s === 'deploy';
}

// LogFilters is what a view searches for. from and to are the custom
// range's `<input type="datetime-local">` values (local time, no zone).
export interface LogFilters {
  element: string;
  region: string;
  alloc: string;
  stream: Stream;
  text: string;
  regex: boolean;
  range: RangeKey;
  from: string;
  to: string;
}

export const DEFAULT_FILTERS: LogFilters = {
  element: '',
  region: '',
  alloc: '',
  stream: '',
  text: '',
  regex: false,
  range: '1h',
  from: '',
  to: '',
};

// ---- time ----

// localInputToIso turns a datetime-local value (local time) into RFC 3339
// UTC, or '' when it is not a time.
export function localInputToIso(v: string): string {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v.trim())) return '';
  const d = new Date(v.trim());
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// dateToLocalInput is the datetime-local value (minutes) of a time.
export function dateToLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const TS_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i;

// tsSortKey is a string that sorts as the time ts does, to the nanosecond
// (ts strings themselves do not: Go drops trailing zeros of the fraction,
// and an offset may differ). An unreadable ts sorts first.
export function tsSortKey(ts: string): string {
  const m = TS_RE.exec(ts);
  if (!m) return '0'.repeat(21);
  const secs = Math.floor(Date.parse(m[1] + m[3].toUpperCase()) / 1000);
  if (!Number.isFinite(secs) || secs < 0) return '0'.repeat(21);
  return String(secs).padStart(12, '0') + (m[2] ?? '').padEnd(9, '0');
}

// tsMillis is ts in milliseconds since the epoch (NaN when unreadable).
export function tsMillis(ts: string): number {
  const m = TS_RE.exec(ts);
  if (!m) return NaN;
  return Date.parse(m[1] + m[3].toUpperCase()) + Number((m[2] ?? '').padEnd(3, '0').slice(0, 3));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// formatLogTime shows a line's time in local time to the millisecond,
// `15:04:05.123`, with the date in front (`Jan 2 15:04:05.123`) when it is
// not of the same day as now.
export function formatLogTime(ts: string, now: Date = new Date()): string {
  const ms = tsMillis(ts);
  if (Number.isNaN(ms)) return ts;
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${MONTHS[d.getMonth()]} ${d.getDate()} ${time}`;
}

// formatShortTime shows a time to the minute, `15:04`, or `Jan 2 15:04`
// on another day than now's.
export function formatShortTime(ts: string, now: Date = new Date()): string {
  const d = new Date(tsMillis(ts));
  if (Number.isNaN(d.getTime())) return ts;
  const p = (n: number) => String(n).padStart(2, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}`;
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? time : `${MONTHS[d.getMonth()]} ${d.getDate()} ${time}`;
}

// lastDeployAt is when the newest succeeded deploy started (its
// created_at), or null when there is none. Deployments do not record which
// elements they touched, so for an element this is the project's.
export function lastDeployAt(list: readonly Deployment[]): string | null {
  let best: string | null = null;
  let bestMs = -Infinity;
  for (const d of list) {
    if (d.status !== 'succeeded' || (d.action ?? 'deploy') !== 'deploy' || !d.created_at) continue;
    const ms = Date.parse(d.created_at);
    if (!Number.isNaN(ms) && ms > bestMs) {
      bestMs = ms;
      best = d.created_at;
    }
  }
  return best;
}

// Window is the time range part of a search, as API parameters; or why
// there is none yet (pending: still loading the deploy history).
export type Window = { ok: true; since?: string; from?: string; to?: string } | { ok: false; path: 'from' | 'to' | 'range'; error: string; pending?: boolean };

// rangeWindow turns the filters' range into since, or from and to.
// lastDeploy: undefined while the deploy history loads, null when the
// project has no succeeded deploy.
export function rangeWindow(f: LogFilters, lastDeploy?: string | null): Window {
  if (PRESETS.has(f.range)) return { ok: true, since: f.range };
  if (f.range === 'deploy') {
    if (lastDeploy === undefined) return { ok: false, path: 'range', error: 'Reading the deploy history…', pending: true };
    if (lastDeploy === null) return { ok: false, path: 'range', error: 'No succeeded deploy yet: pick another time range.' };
    return { ok: true, from: lastDeploy };
  }
  const from = localInputToIso(f.from);
  if (!f.from.trim()) return { ok: false, path: 'from', error: 'Custom range: set where it starts.' };
  if (!from) return { ok: false, path: 'from', error: `Custom range: "${f.from}" is not a time.` };
  if (!f.to.trim()) return { ok: true, from };
  const to = localInputToIso(f.to);
  if (!to) return { ok: false, path: 'to', error: `Custom range: "${f.to}" is not a time.` };
  if (Date.parse(from) >= Date.parse(to)) return { ok: false, path: 'to', error: 'Custom range: the end must be after the start.' };
  return { ok: true, from, to };
}

// ---- query strings ----

export type Built = { ok: true; query: string } | { ok: false; path: string; error: string; pending?: boolean };

// filterParams are the label and line filters, shared by search and tail:
// only those set, in a fixed order.
function filterParams(f: LogFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.element.trim()) p.set('element', f.element.trim());
  if (f.region.trim()) p.set('region', f.region.trim());
  if (f.alloc.trim()) p.set('alloc', f.alloc.trim());
  if (f.stream) p.set('stream', f.stream);
  // Plain text is searched as typed (spaces too); empty means no search.
  if (f.text !== '') p.set(f.regex ? 'regex' : 'q', f.text);
  return p;
}

// searchQuery is the query string of GET /projects/{p}/logs for the
// filters: one page of limit lines, newest first, continuing after cursor
// (the previous page's next) when given.
export function searchQuery(f: LogFilters, opts: { lastDeploy?: string | null; limit?: number; cursor?: string } = {}): Built {
  const w = rangeWindow(f, opts.lastDeploy);
  if (!w.ok) return w;
  const p = filterParams(f);
  if (w.since) p.set('since', w.since);
  if (w.from) p.set('from', w.from);
  if (w.to) p.set('to', w.to);
  p.set('limit', String(opts.limit ?? PAGE_SIZE));
  if (opts.cursor) p.set('cursor', opts.cursor);
  return { ok: true, query: p.toString() };
}

// tailQuery is the query string of GET /projects/{p}/logs/tail: the same
// filters, no window (a tail has no end); from starts it at that time (the
// newest line shown), replaying at most limit earlier lines.
export function tailQuery(f: LogFilters, opts: { from?: string; limit?: number } = {}): string {
  const p = filterParams(f);
  if (opts.from) {
    p.set('from', opts.from);
    p.set('limit', String(opts.limit ?? TAIL_BACKFILL));
  }
  return p.toString();
}

// filtersToSearch is the page address's query for the filters (only what
// differs from the defaults), so a search can be shared as a link.
export function filtersToSearch(f: LogFilters): string {
  const p = new URLSearchParams();
  if (f.element) p.set('element', f.element);
  if (f.region) p.set('region', f.region);
  if (f.alloc) p.set('alloc', f.alloc);
  if (f.stream) p.set('stream', f.stream);
  if (f.text !== '') p.set(f.regex ? 'regex' : 'q', f.text);
  if (f.range !== DEFAULT_FILTERS.range) p.set('range', f.range);
  if (f.range === 'custom') {
    if (f.from) p.set('from', f.from);
    if (f.to) p.set('to', f.to);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

// filtersFromSearch reads filtersToSearch's query back; what it does not
// know is left at the defaults.
export function filtersFromSearch(search: string): LogFilters {
  const p = new URLSearchParams(search);
  const f: LogFilters = { ...DEFAULT_FILTERS };
  f.element = p.get('element') ?? '';
  f.region = p.get('region') ?? '';
  f.alloc = p.get('alloc') ?? '';
  const s = p.get('stream') ?? '';
  f.stream = s === 'stdout' || s === 'stderr' ? s : '';
  if (p.has('regex')) {
    f.regex = true;
    f.text = p.get('regex') ?? '';
  } else {
    f.text = p.get('q') ?? '';
  }
  const r = p.get('range') ?? '';
  if (isRangeKey(r)) f.range = r;
  if (f.range === 'custom') {
    f.from = p.get('from') ?? '';
    f.to = p.get('to') ?? '';
  }
  return f;
}

// ---- highlighting ----

// toJsRegExp compiles an RE2 expression (what the server and Loki run) as
// a global JavaScript RegExp for highlighting, or null when JavaScript
// cannot read it the same way. Leading flags `(?i)` `(?s)` `(?m)` become
// RegExp flags, `(?P<name>` a named group, `\z` the end.
export function toJsRegExp(re2: string): RegExp | null {
  if (!re2) return null;
  let src = re2;
  let flags = 'g';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1].includes('U')) return null; // ungreedy: no JS equivalent
    for (const c of new Set(lead[1])) flags += c;
    src = src.slice(lead[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\\z/g, '$');
  for (const extra of ['u', '']) {
    try {
      return new RegExp(src, flags + extra);
    } catch {
      // try without the unicode flag (it is stricter about escapes)
    }
  }
  return null;
}

export type Range = [number, number];

// highlightRanges are the parts of text the search matched, sorted and
// merged: every occurrence of the plain text (case-sensitive, as the
// server searches), or every match of the regex. Empty matches are skipped.
export function highlightRanges(text: string, search: { text: string; regex: boolean }, re?: RegExp | null): Range[] {
  const out: Range[] = [];
  if (!search.text) return out;
  if (!search.regex) {
    for (let i = text.indexOf(search.text); i >= 0; i = text.indexOf(search.text, i + search.text.length)) {
      out.push([i, i + search.text.length]);
    }
    return out;
  }
  const r = re === undefined ? toJsRegExp(search.text) : re;
  if (!r) return out;
  r.lastIndex = 0;
  let guard = 0;
  for (let m = r.exec(text); m && guard < 10000; m = r.exec(text), guard++) {
    if (m[0].length === 0) {
      r.lastIndex++;
      continue;
    }
    const start = m.index;
    const end = start + m[0].length;
    const last = out[out.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

export interface Segment {
  text: string;
  mark: boolean;
}

// segments cuts text at the ranges into plain and marked parts.
export function segments(text: string, ranges: readonly Range[]): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const [s, e] of ranges) {
    const start = Math.max(s, at);
    const end = Math.min(e, text.length);
    if (end <= start) continue;
    if (start > at) out.push({ text: text.slice(at, start), mark: false });
    out.push({ text: text.slice(start, end), mark: true });
    at = end;
  }
  if (at < text.length || out.length === 0) out.push({ text: text.slice(at), mark: false });
  return out;
}

// ---- lines ----

// ERROR_RE finds error-looking words: error, err, fatal, panic, exception
// (also in `level=error` and `"level":"ERROR"`), critical/crit, and
// `Traceback`; TYPED_ERROR_RE a type named so (`ValueError`,
// `java.lang.NullPointerException`).
export const ERROR_RE = /\b(error|err|fatal|panic|exception|crit|critical|traceback)\b/i;
export const TYPED_ERROR_RE = /\b[A-Z]\w*(Error|Exception)\b/;

// lineLevel marks a line: `error` when its text looks like an error (only
// the first MAX_SHOWN_CHARS characters are looked at), else `stderr` for a
// line on stderr, else ``.
export function lineLevel(l: Pick<LogLine, 'line' | 'stream'>): Level {
  const text = l.line.length > MAX_SHOWN_CHARS ? l.line.slice(0, MAX_SHOWN_CHARS) : l.line;
  if (ERROR_RE.test(text) || TYPED_ERROR_RE.test(text)) return 'error';
  return l.stream === 'stderr' ? 'stderr' : '';
}

// shortAlloc is an allocation ID as the CLI shows it: its first eight
// characters.
export function shortAlloc(a: string): string {
  return a.slice(0, 8);
}

// lineKey identifies a line: Loki keeps one entry per stream, time and text.
export function lineKey(l: LogLine): string {
  return [l.ts, l.element, l.region, l.alloc, l.task, l.stream, l.line].join('\u0000');
}

export function prepareLine(l: LogLine): ShownLine {
  const line: LogLine = {
    ts: l.ts ?? '',
    element: l.element ?? '',
    region: l.region ?? '',
    alloc: l.alloc ?? '',
    task: l.task ?? '',
    stream: l.stream ?? '',
    line: l.line ?? '',
  };
  return { ...line, key: lineKey(line), sk: tsSortKey(line.ts), level: lineLevel(line) };
}

// byNewest orders shown lines newest first; lines of one time keep their
// order.
function byNewest(a: ShownLine, b: ShownLine): number {
  return a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0;
}

export interface Merged {
  lines: ShownLine[];
  // capped: lines were dropped (or not taken) to stay within the cap.
  capped: boolean;
}

// firstPage is a search's first page as the view keeps it: newest first,
// without repeats, at most cap lines.
export function firstPage(page: readonly LogLine[], cap = MAX_LINES): Merged {
  const seen = new Set<string>();
  const lines: ShownLine[] = [];
  for (const l of page) {
    const s = prepareLine(l);
    if (seen.has(s.key)) continue;
    seen.add(s.key);
    lines.push(s);
  }
  lines.sort(byNewest);
  return lines.length > cap ? { lines: lines.slice(0, cap), capped: true } : { lines, capped: false };
}

// appendOlder adds a "Load older" page (lines older than all those shown,
// newest first, and the next cursor) after the lines shown, skipping
// repeats, up to cap lines. Once cap lines are kept and older ones remain
// (or some of the page did not fit), it is capped and there is no next.
export function appendOlder(cur: readonly ShownLine[], page: { lines: readonly LogLine[]; next: string }, cap = MAX_LINES): Merged & { next: string } {
  const seen = new Set(cur.slice(-PAGE_SIZE).map((l) => l.key));
  const out = cur.slice();
  let capped = false;
  for (const l of page.lines) {
    const s = prepareLine(l);
    if (seen.has(s.key)) continue;
    if (out.length >= cap) {
      capped = true;
      break;
    }
    seen.add(s.key);
    out.push(s);
  }
  if (out.length >= cap && page.next) capped = true;
  return { lines: out, capped, next: capped ? '' : page.next };
}

// mergeTail adds lines from the live tail (in the order they came, roughly
// oldest first) to the lines shown (newest first): repeats (a tail reopened
// from the newest line shown replays it) are dropped, the rest go in time
// order, and beyond cap the oldest lines are dropped.
export function mergeTail(cur: readonly ShownLine[], incoming: readonly LogLine[], cap = MAX_LINES): Merged & { added: number } {
  if (incoming.length === 0) return { lines: cur as ShownLine[], capped: false, added: 0 };
  const fresh = incoming.map((l) => ({ ...prepareLine(l), live: true })).sort(byNewest);
  const oldest = fresh[fresh.length - 1].sk;
  // The lines shown that could repeat one of these: those at or after the
  // oldest incoming time (cur is newest first).
  const seen = new Set<string>();
  for (const l of cur) {
    if (l.sk < oldest) break;
    seen.add(l.key);
  }
  const add: ShownLine[] = [];
  for (const l of fresh) {
    if (seen.has(l.key)) continue;
    seen.add(l.key);
    add.push(l);
  }
  if (add.length === 0) return { lines: cur as ShownLine[], capped: false, added: 0 };
  let lines: ShownLine[];
  if (cur.length === 0 || add[add.length - 1].sk >= cur[0].sk) {
    lines = add.concat(cur);
  } else {
    // Some came out of order (several streams): merge the two sorted lists.
    lines = [];
    let i = 0;
    let j = 0;
    while (i < add.length || j < cur.length) {
      if (j >= cur.length || (i < add.length && add[i].sk > cur[j].sk)) lines.push(add[i++]);
      else lines.push(cur[j++]);
    }
  }
  const capped = lines.length > cap;
  if (capped) lines = lines.slice(0, cap);
  return { lines, capped, added: add.length };
}

// newestTs is the time of the newest line shown (they are newest first).
export function newestTs(lines: readonly ShownLine[]): string | undefined {
  return lines[0]?.ts;
}

// clip is the part of a long line drawn before it is expanded, and how many
// characters are left out.
export function clip(text: string, max = MAX_SHOWN_CHARS): { text: string; hidden: number } {
  return text.length > max ? { text: text.slice(0, max), hidden: text.length - max } : { text, hidden: 0 };
}

// ---- what the view says ----

// rangeLabel names the time range in a sentence ("in the last hour").
export function rangeLabel(f: LogFilters): string {
  switch (f.range) {
    case 'custom':
      return 'in the custom range';
    case 'deploy':
      return 'since the last deploy';
    default:
      return `in the ${(RANGES.find((r) => r.key === f.range)?.label ?? f.range).toLowerCase()}`;
  }
}

// noLokiMessage is what a view says when serve has no Loki (503 no_loki).
export const NO_LOKI = 'Loki is not configured: start serve with BACKPLANE_LOKI_URL';

// countLabel says how many lines are shown, of which range (rangeLabel),
// and whether older ones were left out to stay within the cap.
export function countLabel(n: number, capped: boolean, range = '', cap = MAX_LINES): string {
  const num = (x: number) => x.toLocaleString('en-US');
  const s = `${num(n)} line${n === 1 ? '' : 's'}${range ? ` ${range}` : ''}, newest first`;
  return capped ? `${s} · at most ${num(cap)} are kept in memory: narrow the search to see older ones` : s;
}
