import { describe, expect, it } from 'vitest';
import type { Deployment } from '../api';
import {
  appendOlder,
  clip,
  countLabel,
  dateToLocalInput,
  DEFAULT_FILTERS,
  filtersFromSearch,
  filtersToSearch,
  firstPage,
  formatLogTime,
  formatShortTime,
  highlightRanges,
  lastDeployAt,
  lineLevel,
  localInputToIso,
  mergeTail,
  newestTs,
  prepareLine,
  rangeLabel,
  rangeWindow,
  searchQuery,
  segments,
  shortAlloc,
  tailQuery,
  toJsRegExp,
  tsMillis,
  tsSortKey,
  type LogFilters,
  type LogLine,
} from './logs';

const F = (extra: Partial<LogFilters> = {}): LogFilters => ({ ...DEFAULT_FILTERS, ...extra });
const L = (ts: string, line: string, extra: Partial<LogLine> = {}): LogLine => ({
  ts,
  element: 'api',
  region: 'eu',
  alloc: '5f0c2a9e-1b7d-4e3f-8a6b-000000000003',
  task: 'api',
  stream: 'stdout',
  line,
  ...extra,
});
const params = (q: string) => Object.fromEntries(new URLSearchParams(q));

describe('searchQuery', () => {
  it('sends only the filters set, the window and the page size', () => {
    const r = searchQuery(F({ element: 'api' }));
    expect(r).toEqual({ ok: true, query: 'element=api&since=1h&limit=500' });
  });
  it('sends plain text as q and a regex as regex, as typed', () => {
    expect(params((searchQuery(F({ text: ' timeout ' })) as { query: string }).query).q).toBe(' timeout ');
    const r = searchQuery(F({ text: 'user=\\d+', regex: true, region: 'us', alloc: ' 5f0c2a9e ', stream: 'stderr', range: '7d' }));
    expect(r.ok && params(r.query)).toEqual({ regex: 'user=\\d+', region: 'us', alloc: '5f0c2a9e', stream: 'stderr', since: '7d', limit: '500' });
  });
  it('escapes what it sends', () => {
    const r = searchQuery(F({ text: 'a&b=c "} or {project="other"}' }));
    expect(r.ok && r.query).toContain('q=a%26b%3Dc+%22%7D+or+%7Bproject%3D%22other%22%7D');
    expect(r.ok && params(r.query).q).toBe('a&b=c "} or {project="other"}');
  });
  it('continues a search with its cursor and the same filters', () => {
    const r = searchQuery(F({ element: 'api', text: 'x' }), { cursor: 'abc_-', limit: 100 });
    expect(r.ok && params(r.query)).toEqual({ element: 'api', q: 'x', since: '1h', limit: '100', cursor: 'abc_-' });
  });
  it('never sends a project', () => {
    const r = searchQuery(F({ element: 'api', text: 'project=other' }));
    expect(r.ok && 'project' in params(r.query)).toBe(false);
  });
  it('sends every preset as since', () => {
    for (const range of ['5m', '15m', '1h', '6h', '24h', '7d'] as const) {
      const r = searchQuery(F({ range }));
      expect(r.ok && params(r.query).since).toBe(range);
    }
  });
  it('sends a custom range as from and to in UTC', () => {
    const from = dateToLocalInput(new Date(2026, 0, 2, 15, 4));
    const to = dateToLocalInput(new Date(2026, 0, 2, 16, 0));
    const r = searchQuery(F({ range: 'custom', from, to }));
    expect(r.ok && params(r.query)).toMatchObject({ from: new Date(2026, 0, 2, 15, 4).toISOString(), to: new Date(2026, 0, 2, 16, 0).toISOString() });
    expect(r.ok && 'since' in params(r.query)).toBe(false);
  });
  it('sends the last deploy as from', () => {
    const r = searchQuery(F({ range: 'deploy' }), { lastDeploy: '2026-01-02T15:04:05Z' });
    expect(r.ok && params(r.query)).toMatchObject({ from: '2026-01-02T15:04:05Z' });
  });
  it('says why there is no search yet', () => {
    expect(searchQuery(F({ range: 'deploy' }))).toMatchObject({ ok: false, pending: true });
    expect(searchQuery(F({ range: 'deploy' }), { lastDeploy: null })).toMatchObject({ ok: false, path: 'range' });
    expect(searchQuery(F({ range: 'custom' }))).toMatchObject({ ok: false, path: 'from' });
  });
});

describe('rangeWindow', () => {
  it('checks a custom range', () => {
    expect(rangeWindow(F({ range: 'custom', from: 'yesterday' }))).toMatchObject({ ok: false, path: 'from' });
    expect(rangeWindow(F({ range: 'custom', from: '2026-01-02T15:04', to: 'soon' }))).toMatchObject({ ok: false, path: 'to' });
    expect(rangeWindow(F({ range: 'custom', from: '2026-01-02T15:04', to: '2026-01-02T15:04' }))).toMatchObject({ ok: false, path: 'to', error: expect.stringContaining('after') });
    expect(rangeWindow(F({ range: 'custom', from: '2026-01-02T15:04' }))).toEqual({ ok: true, from: new Date(2026, 0, 2, 15, 4).toISOString() });
  });
});

describe('local times', () => {
  it('reads datetime-local values as local time', () => {
    expect(localInputToIso('2026-01-02T15:04')).toBe(new Date(2026, 0, 2, 15, 4).toISOString());
    expect(localInputToIso('2026-01-02T15:04:05')).toBe(new Date(2026, 0, 2, 15, 4, 5).toISOString());
    expect(localInputToIso('')).toBe('');
    expect(localInputToIso('2026-13-45T99:99')).toBe('');
    expect(localInputToIso('1767366245')).toBe('');
  });
  it('round-trips a time to minutes', () => {
    const d = new Date(2026, 4, 6, 7, 8, 9);
    expect(dateToLocalInput(d)).toBe('2026-05-06T07:08');
    expect(localInputToIso(dateToLocalInput(d))).toBe(new Date(2026, 4, 6, 7, 8).toISOString());
  });
});

describe('tailQuery', () => {
  it('sends the same filters, no window, and starts at the newest line shown', () => {
    const f = F({ element: 'api', stream: 'stderr', text: 'boom', range: 'custom', from: '2026-01-02T15:04', to: '2026-01-02T16:00' });
    expect(tailQuery(f)).toBe('element=api&stream=stderr&q=boom');
    expect(params(tailQuery(f, { from: '2026-01-02T15:04:05.123456789Z' }))).toEqual({
      element: 'api',
      stream: 'stderr',
      q: 'boom',
      from: '2026-01-02T15:04:05.123456789Z',
      limit: '500',
    });
    expect(params(tailQuery(F({ text: 'a.b', regex: true }))).regex).toBe('a.b');
  });
});

describe('filtersToSearch / filtersFromSearch', () => {
  it('round-trips the filters through the address', () => {
    const cases: LogFilters[] = [
      F(),
      F({ element: 'api', region: 'eu', alloc: '5f0c', stream: 'stderr', text: 'a b&c', range: '6h' }),
      F({ text: '^x\\d+$', regex: true }),
      F({ range: 'custom', from: '2026-01-02T15:04', to: '2026-01-02T16:04' }),
      F({ range: 'deploy' }),
    ];
    for (const f of cases) expect(filtersFromSearch(filtersToSearch(f))).toEqual(f);
    expect(filtersToSearch(F())).toBe('');
  });
  it('ignores what it does not know', () => {
    expect(filtersFromSearch('?stream=stdin&range=1y&x=1')).toEqual(F());
  });
});

describe('highlighting', () => {
  it('marks every occurrence of plain text, case-sensitively', () => {
    expect(highlightRanges('timeout, Timeout, timeout', { text: 'timeout', regex: false })).toEqual([
      [0, 7],
      [18, 25],
    ]);
    expect(highlightRanges('aaaa', { text: 'aa', regex: false })).toEqual([
      [0, 2],
      [2, 4],
    ]);
    expect(highlightRanges('anything', { text: '', regex: false })).toEqual([]);
  });
  it('marks every regex match, merging overlaps and skipping empty matches', () => {
    expect(highlightRanges('user=41 user=7', { text: 'user=\\d+', regex: true })).toEqual([
      [0, 7],
      [8, 14],
    ]);
    expect(highlightRanges('abc', { text: 'x*', regex: true })).toEqual([]);
    expect(highlightRanges('ab', { text: 'a|ab', regex: true })).toEqual([[0, 1]]);
  });
  it('reads RE2 flags and groups', () => {
    expect(highlightRanges('ERROR and error', { text: '(?i)error', regex: true })).toEqual([
      [0, 5],
      [10, 15],
    ]);
    expect(highlightRanges('id=12', { text: '(?P<id>\\d+)\\z', regex: true })).toEqual([[3, 5]]);
    expect(toJsRegExp('(?U)a+')).toBeNull();
    expect(toJsRegExp('user=(\\d+')).toBeNull();
    expect(highlightRanges('user=1', { text: 'user=(\\d+', regex: true })).toEqual([]);
  });
  it('cuts a line into marked and plain parts', () => {
    expect(segments('GET /orders timeout', [[12, 19]])).toEqual([
      { text: 'GET /orders ', mark: false },
      { text: 'timeout', mark: true },
    ]);
    expect(
      segments('abcdef', [
        [0, 2],
        [4, 9],
      ]),
    ).toEqual([
      { text: 'ab', mark: true },
      { text: 'cd', mark: false },
      { text: 'ef', mark: true },
    ]);
    expect(segments('', [])).toEqual([{ text: '', mark: false }]);
  });
});

describe('lineLevel', () => {
  it('marks error-looking lines', () => {
    for (const line of ['ERROR: db down', 'level=error msg=x', '{"level":"err"}', 'panic: runtime error', 'Fatal: out of memory', 'java.lang.NullPointerException at X', 'ValueError: bad input', 'Traceback (most recent call last):']) {
      expect(lineLevel({ line, stream: 'stdout' }), line).toBe('error');
    }
  });
  it('does not mark words that only contain an error word', () => {
    for (const line of ['no errors here', 'terrific', 'GET /orders 200', 'panicked? no: panicky', 'ErrorBoundary mounted', 'interrupt handler ok']) {
      expect(lineLevel({ line, stream: 'stdout' }), line).toBe('');
    }
  });
  it('marks stderr lines apart', () => {
    expect(lineLevel({ line: 'listening on :8080', stream: 'stderr' })).toBe('stderr');
    expect(lineLevel({ line: 'error: nope', stream: 'stderr' })).toBe('error');
  });
});

describe('times', () => {
  it('sorts timestamps to the nanosecond, whatever Go trimmed', () => {
    const ts = ['2026-01-02T15:04:05Z', '2026-01-02T15:04:05.1Z', '2026-01-02T15:04:05.12Z', '2026-01-02T15:04:05.123456789Z', '2026-01-02T16:04:05.5+01:00', '2026-01-02T15:04:06Z'];
    const keys = ts.map(tsSortKey);
    for (const [a, b] of [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]) expect(keys[a] < keys[b], `${ts[a]} < ${ts[b]}`).toBe(true);
    expect(tsSortKey('2026-01-02T16:04:05.5+01:00')).toBe(tsSortKey('2026-01-02T15:04:05.5Z'));
    expect(tsSortKey('garbage') < keys[0]).toBe(true);
  });
  it('shows local time to the millisecond, with the date on another day', () => {
    const d = new Date(2026, 0, 2, 15, 4, 5, 123);
    const ts = d.toISOString().replace('.123Z', '.123456789Z');
    expect(tsMillis(ts)).toBe(d.getTime());
    expect(formatLogTime(ts, new Date(2026, 0, 2, 23, 0))).toBe('15:04:05.123');
    expect(formatLogTime(ts, new Date(2026, 0, 3, 1, 0))).toBe('Jan 2 15:04:05.123');
    expect(formatLogTime('not a time')).toBe('not a time');
    expect(formatShortTime('2026-01-02T15:04:05Z', new Date(2026, 0, 2, 12))).toBe(formatLogTime('2026-01-02T15:04:05Z', new Date(2026, 0, 2, 12)).slice(0, -7));
    expect(formatShortTime(new Date(2026, 0, 2, 15, 4).toISOString(), new Date(2026, 0, 5))).toBe('Jan 2 15:04');
  });
});

describe('lastDeployAt', () => {
  const dep = (id: number, created_at: string, extra: Partial<Deployment> = {}): Deployment => ({ id, created_at, action: 'deploy', status: 'succeeded', ...extra });
  it('is the newest succeeded deploy', () => {
    expect(
      lastDeployAt([
        dep(1, '2026-01-01T10:00:00Z'),
        dep(2, '2026-01-03T10:00:00Z', { status: 'failed' }),
        dep(3, '2026-01-02T10:00:00Z'),
        dep(4, '2026-01-04T10:00:00Z', { action: 'rollback' }),
        dep(5, '2026-01-04T11:00:00Z', { status: 'running' }),
      ]),
    ).toBe('2026-01-02T10:00:00Z');
    expect(lastDeployAt([])).toBeNull();
    expect(lastDeployAt([dep(1, '2026-01-01T10:00:00Z', { status: 'failed' })])).toBeNull();
  });
});

describe('keeping lines', () => {
  it('takes a first page newest first, without repeats, within the cap', () => {
    const page = [L('2026-01-02T15:00:03Z', 'c'), L('2026-01-02T15:00:02Z', 'b'), L('2026-01-02T15:00:02Z', 'b'), L('2026-01-02T15:00:01Z', 'a')];
    const r = firstPage(page);
    expect(r.lines.map((l) => l.line)).toEqual(['c', 'b', 'a']);
    expect(r.capped).toBe(false);
    expect(firstPage(page, 2)).toMatchObject({ capped: true });
    expect(firstPage(page, 2).lines.map((l) => l.line)).toEqual(['c', 'b']);
  });
  it('appends older pages up to the cap', () => {
    const cur = firstPage([L('2026-01-02T15:00:03Z', 'c'), L('2026-01-02T15:00:02Z', 'b')]).lines;
    const older = [L('2026-01-02T15:00:02Z', 'b'), L('2026-01-02T15:00:01Z', 'a')];
    expect(appendOlder(cur, { lines: older, next: 'n2' }, 4)).toMatchObject({ capped: false, next: 'n2' });
    expect(appendOlder(cur, { lines: older, next: 'n2' }, 4).lines.map((l) => l.line)).toEqual(['c', 'b', 'a']);
    // Lines that do not fit.
    let r = appendOlder(cur, { lines: [...older, L('2026-01-02T15:00:00Z', 'z')], next: '' }, 3);
    expect(r.lines.map((l) => l.line)).toEqual(['c', 'b', 'a']);
    expect(r).toMatchObject({ capped: true, next: '' });
    // Exactly full with more to come: capped too, no "Load older".
    r = appendOlder(cur, { lines: older, next: 'n2' }, 3);
    expect(r).toMatchObject({ capped: true, next: '' });
    // Exactly full and nothing older: the whole range is shown.
    expect(appendOlder(cur, { lines: older, next: '' }, 3)).toMatchObject({ capped: false, next: '' });
  });
  it('puts live lines on top in time order and drops repeats', () => {
    const cur = firstPage([L('2026-01-02T15:00:03Z', 'c'), L('2026-01-02T15:00:02Z', 'b')]).lines;
    // A tail reopened from the newest line replays it.
    const r = mergeTail(cur, [L('2026-01-02T15:00:03Z', 'c'), L('2026-01-02T15:00:04Z', 'd'), L('2026-01-02T15:00:05Z', 'e')]);
    expect(r.lines.map((l) => l.line)).toEqual(['e', 'd', 'c', 'b']);
    expect(r.lines.map((l) => !!l.live)).toEqual([true, true, false, false]);
    expect(r.added).toBe(2);
    expect(newestTs(r.lines)).toBe('2026-01-02T15:00:05Z');
    expect(mergeTail(r.lines, [L('2026-01-02T15:00:05Z', 'e')])).toMatchObject({ added: 0 });
  });
  it('merges a live line older than the newest shown into place', () => {
    const cur = firstPage([L('2026-01-02T15:00:05Z', 'e'), L('2026-01-02T15:00:02Z', 'b')]).lines;
    const r = mergeTail(cur, [L('2026-01-02T15:00:03Z', 'c', { region: 'us' }), L('2026-01-02T15:00:06Z', 'f')]);
    expect(r.lines.map((l) => l.line)).toEqual(['f', 'e', 'c', 'b']);
  });
  it('drops the oldest lines past the cap', () => {
    const cur = firstPage([L('2026-01-02T15:00:02Z', 'b'), L('2026-01-02T15:00:01Z', 'a')]).lines;
    const r = mergeTail(cur, [L('2026-01-02T15:00:03Z', 'c')], 2);
    expect(r.lines.map((l) => l.line)).toEqual(['c', 'b']);
    expect(r.capped).toBe(true);
  });
  it('keeps a few thousand lines fast', () => {
    const page = Array.from({ length: 5000 }, (_, i) => L(new Date(Date.UTC(2026, 0, 2) + (5000 - i) * 1000).toISOString(), `line ${i} error`));
    let t = performance.now();
    let cur = firstPage(page).lines;
    for (let i = 0; i < 50; i++) {
      cur = mergeTail(cur, [L(new Date(Date.UTC(2026, 0, 3) + i * 1000).toISOString(), `live ${i}`)]).lines;
    }
    t = performance.now() - t;
    expect(cur.length).toBe(5000);
    expect(cur[0].line).toBe('live 49');
    expect(t).toBeLessThan(1500);
  });
  it('identifies lines by stream, time and text', () => {
    const a = prepareLine(L('2026-01-02T15:00:02Z', 'x'));
    expect(prepareLine(L('2026-01-02T15:00:02Z', 'x')).key).toBe(a.key);
    expect(prepareLine(L('2026-01-02T15:00:02Z', 'x', { stream: 'stderr' })).key).not.toBe(a.key);
    expect(prepareLine({ ...L('2026-01-02T15:00:02Z', 'x'), alloc: undefined as unknown as string }).alloc).toBe('');
  });
});

describe('small things', () => {
  it('shortens allocation IDs to eight characters', () => {
    expect(shortAlloc('5f0c2a9e-1b7d-4e3f')).toBe('5f0c2a9e');
    expect(shortAlloc('abc')).toBe('abc');
  });
  it('clips long lines', () => {
    expect(clip('abcdef', 4)).toEqual({ text: 'abcd', hidden: 2 });
    expect(clip('abc', 4)).toEqual({ text: 'abc', hidden: 0 });
  });
  it('says how many lines and the cap', () => {
    expect(countLabel(1, false)).toBe('1 line, newest first');
    expect(countLabel(1200, false)).toBe('1,200 lines, newest first');
    expect(countLabel(5000, true, 'in the last hour')).toBe('5,000 lines in the last hour, newest first · at most 5,000 are kept in memory: narrow the search to see older ones');
  });
  it('names the range', () => {
    expect(rangeLabel(F())).toBe('in the last hour');
    expect(rangeLabel(F({ range: 'deploy' }))).toBe('since the last deploy');
  });
});
